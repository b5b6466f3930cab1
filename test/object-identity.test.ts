import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { KubeConfigMap } from '../imports/k8s';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { checkOneObjectPerName } from '../lib/object-identity';
import { synthesize } from '../lib/synth';
import { treeDigest } from './support/dist';

// Kubernetes keeps one object per API group, kind, namespace and name: two in one folder would overwrite each
// other on `kubectl apply`, and kustomize (Flux) refuses the folder. The synth refuses them, naming both.
const arm64 = (name: string) => ({ architecture: 'arm64', loadBalancerIP: '192.168.80.114', name });
const fix = "give one of them another name (the daemon's name, a native builder's name, registryCache.name, a tenant's name)";

test.each<[string, BuildkitChartProps, string]>([
  [
    'the registry cache named like the daemon',
    { registryCache: { size: '50Gi', name: 'buildkitd' }, networkPolicy: {} },
    'ConfigMap buildkit/buildkitd-config: buildkit/RegistryCache/Config and buildkit/Daemon/Config',
  ],
  [
    'a native builder named like the metrics Service',
    { metrics: {}, architecture: 'amd64', nativeBuilders: [arm64('buildkitd-metrics')] },
    'Service buildkit/buildkitd-metrics: buildkit/Service-arm64/Resource and buildkit/Metrics-buildkitd/Resource',
  ],
  [
    "a native builder named like the StatefulSet's headless Service",
    { workload: 'statefulset', architecture: 'amd64', nativeBuilders: [arm64('buildkitd-headless')] },
    'Service buildkit/buildkitd-headless: buildkit/Daemon/Headless and buildkit/Service-arm64/Resource',
  ],
  [
    'a native builder named like a replica Service',
    {
      workload: 'statefulset',
      replicas: 2,
      perReplicaIPs: ['192.168.80.111', '192.168.80.112'],
      architecture: 'amd64',
      nativeBuilders: [arm64('buildkitd-0')],
    },
    'Service buildkit/buildkitd-0: buildkit/Replica0/Resource and buildkit/Service-arm64/Resource',
  ],
  [
    'a native builder and the registry cache of one name',
    { registryCache: { size: '50Gi', name: 'cachey' }, architecture: 'amd64', nativeBuilders: [arm64('cachey')] },
    'ConfigMap buildkit/cachey-config: buildkit/RegistryCache/Config and buildkit/Daemon-arm64/Config',
  ],
  [
    "a native builder named like the daemon's egress policy",
    { architecture: 'amd64', nativeBuilders: [arm64('buildkitd-egress')] },
    'NetworkPolicy.networking.k8s.io buildkit/buildkitd-egress: buildkit/EgressPolicy-buildkitd/Resource and buildkit/NetworkPolicy-buildkitd-egress/Resource',
  ],
])('%s: refused with one line naming both, and the output folder is left as it was', (_name, props, clash) => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-identity-'));
  try {
    writeFileSync(join(work, 'previous.yaml'), 'kind: Previous\n');
    const before = treeDigest(work);
    expect(() => synthesize(work, (app) => new BuildkitChart(app, 'buildkit', props))).toThrow(
      new Error(`two objects are ${clash}; ${fix}`),
    );
    expect(treeDigest(work)).toEqual(before);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('one name in two kinds, groups or namespaces is no clash; the same across two charts is', () => {
  const app = new App();
  new BuildkitChart(app, 'buildkit', { metrics: {}, networkPolicy: {} }); // a Deployment, Service, PDB and policy named buildkitd
  const other = new Chart(app, 'other', { namespace: 'other' });
  new KubeConfigMap(other, 'Config', { metadata: { name: 'buildkitd-config' } });
  expect(() => checkOneObjectPerName(app)).not.toThrow();
  const twin = new Chart(app, 'twin', { namespace: 'buildkit' });
  new KubeConfigMap(twin, 'Config', { metadata: { name: 'buildkitd-config' } });
  expect(() => checkOneObjectPerName(app)).toThrow(
    new Error(`two objects are ConfigMap buildkit/buildkitd-config: buildkit/Daemon/Config and twin/Config; ${fix}`),
  );
});
