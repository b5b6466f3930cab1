import { BuildkitChartProps } from '../lib';
import { synthChart } from './support/chart';

// Each bad setting fails the synth with one line that names the prop, the value and the fix.
const cases: Array<[string, BuildkitChartProps, RegExp]> = [
  ['an address that is not IPv4', { loadBalancerIP: '192.168.80.300' }, /^BuildkitService: invalid loadBalancerIP "192\.168\.80\.300": use a dotted IPv4 address/],
  ['an IPv6 address', { loadBalancerIP: 'fd00::10' }, /invalid loadBalancerIP "fd00::10"/],
  ['port 0', { port: 0 }, /^BuildkitDaemon: invalid port 0: use a whole number from 1 to 65535$/],
  ['port 65536', { port: 65536 }, /invalid port 65536/],
  ['a fractional port', { port: 12.5 }, /invalid port 12\.5/],
  ['replicas 0', { replicas: 0 }, /^BuildkitDaemon: invalid replicas 0: use a whole number of at least 1$/],
  ['a cache size that is not a quantity', { cache: { size: '50GB' } }, /^CacheVolume: invalid size "50GB": use a positive Kubernetes quantity such as 50Gi$/],
  ['a zero cache size', { cache: { size: '0' } }, /invalid size "0"/],
  ['a CPU request that is not a quantity', { resources: { requests: { cpu: 'two' } } }, /invalid resources\.requests\.cpu "two"/],
  ['an image without a tag', { image: 'moby/buildkit' }, /^BuildkitDaemon: invalid image "moby\/buildkit": pin a release tag or digest/],
  ['an image on a registry port without a tag', { image: 'registry:5000/buildkit' }, /invalid image "registry:5000\/buildkit"/],
  ['the latest tag', { image: 'moby/buildkit:latest' }, /invalid image "moby\/buildkit:latest": "latest" moves under you/],
  ['a namespace that is not a DNS label', { namespace: 'Build_Kit' }, /^BuildkitChart: invalid namespace "Build_Kit": use a DNS label/],
  ['a name that is not a DNS label', { name: 'buildkitd.' }, /^BuildkitDaemon: invalid name "buildkitd\.": use a DNS label/],
  ['a 64-character name', { name: 'a'.repeat(64) }, /invalid name/],
  ['one persistent cache for three replicas', { replicas: 3, cache: { persistent: true } },
    /^BuildkitDaemon: invalid replicas 3: a persistent cache volume serves one daemon \(BuildKit allows one daemon per state directory\)/],
  ['an address pool that is not a DNS label', { addressPool: 'Pool 1' }, /^BuildkitService: invalid addressPool "Pool 1"/],
  ['a cluster domain with a space', { clusterDomain: 'cluster local' }, /^BuildkitChart: invalid clusterDomain "cluster local"/],
];

describe('bad settings fail the synth with one clear line', () => {
  test.each(cases)('%s', (_name, props, message) => {
    let error: Error | undefined;
    try { synthChart(props); } catch (e) { error = e as Error; }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });

  test.each([
    ['a digest-pinned image', { image: 'moby/buildkit@sha256:' + 'a'.repeat(64) }],
    ['a registry with a port and a tag', { image: 'registry.local:5000/moby/buildkit:v0.27.1-rootless' }],
    ['replicas 3 on ephemeral caches', { replicas: 3 }],
    ['port 1 and port 65535', { port: 65535 }],
  ] as Array<[string, BuildkitChartProps]>)('accepts %s', (_name, props) => {
    expect(() => synthChart(props)).not.toThrow();
  });
});
