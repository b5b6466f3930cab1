import { join } from 'node:path';
import { Chart } from 'cdk8s';
import { BuildkitDaemon, BuildkitEgressPolicy, BuildkitNetworkPolicy, BuildkitService, CacheVolume, runSynth, TlsBundle } from '../../lib';

/**
 * The constructs composed by hand, as another team's chart would: a native arm64 builder in its own
 * namespace (which that team's chart already manages), with its own certificate Secret, a 30Gi Longhorn
 * cache, its own MetalLB address, access only from the CI runners' namespace, and build steps that reach
 * DNS, public addresses and the team's git server only.
 */
runSynth(join(__dirname, 'dist'), (app) => {
  const chart = new Chart(app, 'arm64-builder', { namespace: 'builds-arm64' });
  const tls = new TlsBundle(chart, 'Tls', { secretName: 'arm64-builder-certs' });
  const cache = new CacheVolume(chart, 'Cache', { persistent: true, size: '30Gi', claimName: 'arm64-builder-cache' });
  const daemon = new BuildkitDaemon(chart, 'Daemon', {
    name: 'arm64-builder',
    architecture: 'arm64',
    tls,
    cache,
    resources: { requests: { cpu: '2', memory: '2Gi' } },
  });
  new BuildkitService(chart, 'Service', { daemon, loadBalancerIP: '192.168.80.120' });
  new BuildkitNetworkPolicy(chart, 'Policy', { daemon, allowedCidrs: [], allowedNamespaces: ['ci-runners'] });
  new BuildkitEgressPolicy(chart, 'Egress', { daemon, allow: [{ namespace: 'gitea', podLabels: { app: 'gitea' }, port: 3000 }] });
});
