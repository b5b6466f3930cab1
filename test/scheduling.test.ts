import { App, Testing } from 'cdk8s';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { BuildkitDaemon } from '../lib/buildkit-daemon';
import type { SchedulingSettings } from '../lib/daemon/scheduling';
import { serviceCharts } from '../lib/tenants';
import { find, synthChart } from './support/chart';
import { loadValidator } from './support/k8s-schema';

// Nodes are shared unless the pods are told where to go: a node selector and tolerations on every pod the
// service runs (daemons, native builders, the registry cache), per tenant when tenants are set.

const POOL: SchedulingSettings = {
  nodeSelector: { 'example.com/pool': 'builds' },
  tolerations: [
    { key: 'example.com/dedicated', operator: 'Equal', value: 'builds', effect: 'NoSchedule' },
    { key: 'example.com/spot', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ],
};
const podSpec = (objects: any[], kind: string, name: string) => find(objects, kind, name).spec.template.spec;

describe('where the pods run', () => {
  const props: BuildkitChartProps = {
    scheduling: POOL,
    architecture: 'amd64',
    nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.111' }],
    registryCache: { size: '20Gi' },
  };
  const objects = synthChart(props);

  test('every pod the service runs carries the selector and the tolerations; a native builder keeps its architecture', () => {
    const daemon = podSpec(objects, 'Deployment', 'buildkitd');
    expect(daemon.nodeSelector).toEqual({ 'example.com/pool': 'builds', 'kubernetes.io/arch': 'amd64' });
    expect(daemon.tolerations).toEqual([
      { key: 'example.com/dedicated', value: 'builds', effect: 'NoSchedule' },
      { key: 'example.com/spot', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const arm = podSpec(objects, 'Deployment', 'buildkitd-arm64');
    expect(arm.nodeSelector).toEqual({ 'example.com/pool': 'builds', 'kubernetes.io/arch': 'arm64' });
    expect(arm.tolerations).toEqual(daemon.tolerations);
    const cache = podSpec(objects, 'Deployment', 'buildkit-registry-cache');
    expect([cache.nodeSelector, cache.tolerations]).toEqual([POOL.nodeSelector, daemon.tolerations]);
  });

  test('valid for the API server, strict (1.30 and 1.35)', () => {
    for (const version of ['1.30.0', '1.35.0']) {
      const validator = loadValidator(version);
      for (const o of objects.filter((m) => m.kind === 'Deployment')) expect(validator.validate(o)).toEqual([]);
    }
  });

  test('without settings: no selector beyond the architecture, no tolerations', () => {
    const plain = synthChart({ architecture: 'amd64', registryCache: { size: '20Gi' } });
    expect(podSpec(plain, 'Deployment', 'buildkitd').nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64' });
    for (const name of ['buildkitd', 'buildkit-registry-cache']) expect(podSpec(plain, 'Deployment', name).tolerations).toBeUndefined();
    expect(podSpec(plain, 'Deployment', 'buildkit-registry-cache').nodeSelector).toBeUndefined();
    expect(podSpec(synthChart({ scheduling: {} }), 'Deployment', 'buildkitd').nodeSelector).toBeUndefined();
  });

  test('a toleration for every taint needs Exists without a key; a NoExecute one may hold a day at most', () => {
    const daemon = (scheduling: SchedulingSettings) => new BuildkitDaemon(Testing.chart(), 'D', { scheduling });
    expect(daemon({ tolerations: [{ operator: 'Exists' }] }).workload.toJson().spec.template.spec.tolerations).toEqual([
      { operator: 'Exists' },
    ]);
    // Every effect Kubernetes knows is taken.
    for (const effect of ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const) {
      expect(daemon({ tolerations: [{ key: 'k', effect }] }).workload.toJson().spec.template.spec.tolerations).toEqual([
        { key: 'k', effect },
      ]);
    }
    for (const seconds of [0, 86_400]) {
      expect(() => daemon({ tolerations: [{ key: 'k', effect: 'NoExecute', tolerationSeconds: seconds }] })).not.toThrow();
    }
    // Kubernetes' defaults (Equal, an empty value) are left out, as if not given.
    const equal = daemon({ tolerations: [{ key: 'k', operator: 'Equal', value: '' }] });
    expect(equal.workload.toJson().spec.template.spec.tolerations).toEqual([{ key: 'k' }]);
  });

  test.each<[string, SchedulingSettings, RegExp]>([
    [
      'the architecture in the selector',
      { nodeSelector: { 'kubernetes.io/arch': 'arm64' } },
      /^BuildkitDaemon: invalid scheduling\.nodeSelector\["kubernetes\.io\/arch"\] "arm64": set the architecture with the architecture setting/,
    ],
    [
      'a selector key that is no label name',
      { nodeSelector: { 'pool!': 'a' } },
      /^BuildkitDaemon: invalid scheduling\.nodeSelector key "pool!": use a Kubernetes label name, such as example\.com\/pool$/,
    ],
    [
      'a selector value that is no label value',
      { nodeSelector: { pool: 'a b' } },
      /^BuildkitDaemon: invalid scheduling\.nodeSelector\["pool"\] "a b": use a Kubernetes label value, such as builds$/,
    ],
    [
      'a selector value that is a number',
      { nodeSelector: { pool: 1 as any } },
      /^BuildkitDaemon: invalid scheduling\.nodeSelector \{"pool":1\}: use an object whose values are strings$/,
    ],
    [
      'tolerations that are not a list',
      { tolerations: { key: 'a' } as any },
      /^BuildkitDaemon: invalid scheduling\.tolerations .*use a list$/,
    ],
    [
      'a misspelt toleration field',
      { tolerations: [{ keys: 'a' } as any] },
      /^BuildkitDaemon: unknown setting "scheduling\.tolerations\[0\]\.keys": did you mean/,
    ],
    [
      'no key without Exists',
      { tolerations: [{ effect: 'NoSchedule' }] },
      /^BuildkitDaemon: invalid scheduling\.tolerations\[0\] \{"effect":"NoSchedule"\}: a toleration without a key tolerates every taint: give a key, or set operator 'Exists'$/,
    ],
    [
      'an unknown operator',
      { tolerations: [{ key: 'a', operator: 'In' as any }] },
      /^BuildkitDaemon: invalid scheduling\.tolerations\[0\] .*: operator is 'Equal' or 'Exists'$/,
    ],
    [
      'an unknown effect',
      { tolerations: [{ key: 'a', effect: 'NoEvict' as any }] },
      /: effect is 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'$/,
    ],
    [
      'a key that is no label name',
      { tolerations: [{ key: 'a b' }] },
      /^BuildkitDaemon: invalid scheduling\.tolerations\[0\]\.key "a b": use a Kubernetes label name, such as example\.com\/dedicated$/,
    ],
    [
      'a value with Exists',
      { tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] },
      /: operator 'Exists' matches any value: leave value out$/,
    ],
    [
      'a value that is no label value',
      { tolerations: [{ key: 'a', value: 'b c' }] },
      /^BuildkitDaemon: invalid scheduling\.tolerations\[0\]\.value "b c": use a Kubernetes label value, such as builds$/,
    ],
    [
      'seconds without NoExecute',
      { tolerations: [{ key: 'a', effect: 'NoSchedule', tolerationSeconds: 5 }] },
      /: tolerationSeconds applies only to effect 'NoExecute'$/,
    ],
    [
      'seconds past a day',
      { tolerations: [{ key: 'a', effect: 'NoExecute', tolerationSeconds: 86_401 }] },
      /tolerations\[0\]\.tolerationSeconds 86401: .*leave it out to stay for ever/,
    ],
    [
      'negative seconds',
      { tolerations: [{ key: 'a', effect: 'NoExecute', tolerationSeconds: -1 }] },
      /tolerations\[0\]\.tolerationSeconds -1/,
    ],
    [
      'seconds in quotes',
      { tolerations: [{ key: 'a', effect: 'NoExecute', tolerationSeconds: '5' as any }] },
      /tolerationSeconds "5": use a number/,
    ],
  ])('refused, one line: %s', (_what, scheduling, message) => {
    expect(() => new BuildkitDaemon(Testing.chart(), 'D', { scheduling })).toThrow(message);
  });

  test('the chart and the registry cache check them too', () => {
    expect(() => synthChart({ scheduling: { nodeSelector: { 'kubernetes.io/arch': 'amd64' } } })).toThrow(
      /^BuildkitDaemon: invalid scheduling/,
    );
    expect(() => synthChart({ scheduling: { nodeSelector: 'a' as any } })).toThrow(/^BuildkitChart: invalid scheduling\.nodeSelector "a"/);
    expect(() => synthChart({ registryCache: { size: '20Gi', scheduling: { tolerations: [{ value: 'x' }] } } })).toThrow(
      /^RegistryCache: invalid scheduling\.tolerations\[0\]/,
    );
  });
});

describe('per tenant', () => {
  test("a tenant's scheduling is its own; the top level's is every tenant's default", () => {
    const charts = serviceCharts(new App(), {
      scheduling: { nodeSelector: { 'example.com/pool': 'shared' } },
      tenants: [
        { name: 'team-a', loadBalancerIP: '192.168.80.121' },
        { name: 'team-b', loadBalancerIP: '192.168.80.122', scheduling: POOL },
      ],
    });
    const spec = (tenant: string) => podSpec(Testing.synth(charts.get(tenant)!), 'Deployment', 'buildkitd');
    expect([spec('team-a').nodeSelector, spec('team-a').tolerations]).toEqual([{ 'example.com/pool': 'shared' }, undefined]);
    expect(spec('team-b').nodeSelector).toEqual(POOL.nodeSelector);
    expect(spec('team-b').tolerations).toHaveLength(2);
  });
});
