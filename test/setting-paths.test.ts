import { App, Chart, Testing } from 'cdk8s';
import type { ServiceSettings } from '../lib';
import { BuildkitChart, CacheVolume } from '../lib';
import { namedBySetting } from '../lib/setting-paths';
import { serviceCharts } from '../lib/tenants';

// config.ts's refusals name the setting to change, as config.ts spells it; the constructs' own names stay for
// those who build the constructs themselves.

const refusal = (settings: ServiceSettings) => {
  try {
    serviceCharts(new App(), settings);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};

test.each([
  [{ cache: { size: '1Gi' } }, /^BuildkitChart: invalid cache\.size "1Gi": below the 10Gi minimum/],
  [
    { registryCache: { size: '20Gi', upstream: 'ftp://hub' } },
    /^BuildkitChart: invalid registryCache\.upstream "ftp:\/\/hub": use the registry's URL/,
  ],
  [{ egress: { dns: { podLabels: {} } } }, /^BuildkitChart: invalid egress\.dns\.podLabels \{\}: it selects every pod/],
  [{ networkPolicy: { allowedNamespaces: ['CI'] } }, /^BuildkitChart: invalid networkPolicy\.allowedNamespaces entry "CI"/],
  [{ metrics: { monitoringNamespace: 'Mon' } }, /^BuildkitChart: invalid metrics\.monitoringNamespace "Mon"/],
  [{ metrics: { dashboard: { labelName: 'a b' } } }, /^BuildkitChart: invalid metrics\.dashboard\.labelName "a b"/],
  [{ metrics: { alerts: { failureRatio: 2 } } }, /^BuildkitChart: invalid metrics\.alerts\.failureRatio 2/],
  [{ metrics: { alerts: {}, prometheusLabels: { 'a b': 'x' } } }, /^BuildkitChart: invalid metrics\.prometheusLabels key "a b"/],
  [{ metrics: { serviceMonitor: true, prometheusLabels: { 'a b': 'x' } } }, /^BuildkitChart: invalid metrics\.prometheusLabels key "a b"/],
  [{ certSecretName: 'TLS' }, /^BuildkitChart: invalid certSecretName "TLS"/],
  [
    { podSecurity: 'baseline', seccompProfile: { localhostProfile: '../p.json' } },
    /^BuildkitChart: invalid seccompProfile\.localhostProfile "\.\.\/p\.json"/,
  ],
  [{ tenants: [{ name: 'team-a', cache: { headroom: '1Gi' } }] }, /^tenant team-a: BuildkitChart: invalid cache\.headroom "1Gi"/],
] as Array<[ServiceSettings, RegExp]>)('%j: named as config.ts names it', (settings, message) => {
  const line = refusal(settings);
  expect(line).toMatch(message);
  expect(line).not.toContain('\n');
});

test('an egress entry is counted among the entries config.ts gives, not among the destinations the chart adds before them', () => {
  const added = { registryCache: { size: '20Gi' }, registries: { '10.0.0.5:5000': { http: true } } };
  const allow = [
    { cidr: '192.168.1.20/32', port: 3000 },
    { cidr: '192.168.1.21/32', port: 0 },
  ];
  expect(refusal({ ...added, egress: { allow } })).toMatch(/^BuildkitChart: invalid egress\.allow\[1\]\.port 0: /);
  expect(refusal({ egress: { allow } })).toMatch(/^BuildkitChart: invalid egress\.allow\[1\]\.port 0: /);
});

test('a native builder is named by its place in the list', () => {
  const builders = [
    { architecture: 'arm64', loadBalancerIP: '192.168.80.115' },
    { architecture: 's390x', loadBalancerIP: '192.168.80.116', name: 'Big' },
  ];
  expect(refusal({ architecture: 'amd64', nativeBuilders: builders })).toMatch(
    /^BuildkitChart: invalid nativeBuilders\[1\]\.name "Big": use a DNS label/,
  );
  const unaddressed = [builders[0], { architecture: 's390x', loadBalancerIP: '192.168.80.300' }];
  expect(refusal({ architecture: 'amd64', nativeBuilders: unaddressed })).toMatch(
    /^BuildkitChart: invalid nativeBuilders\[1\]\.loadBalancerIP "192\.168\.80\.300"/,
  );
});

test('a fix that sets a sibling names it by its setting too, and the construct keeps its own words in code', () => {
  expect(refusal({ cache: { claimName: 'kept' } })).toBe(
    'BuildkitChart: invalid cache.claimName "kept": it applies to a persistent cache only, and this one is an emptyDir; set cache.persistent: true, or leave it out',
  );
  expect(() => new CacheVolume(new Chart(Testing.app(), 'c'), 'Cache', { perReplica: true })).toThrow(
    /^CacheVolume: invalid perReplica true: .*; set persistent: true as well$/,
  );
  const named = (message: string) => (namedBySetting(new Error(message)) as Error).message;
  expect(named('BuildkitNetworkPolicy: invalid allowedCidrs []: set openBuildPort: true, or monitoringNamespace: x')).toBe(
    'BuildkitChart: invalid networkPolicy.allowedCidrs []: set networkPolicy.openBuildPort: true, or monitoringNamespace: x',
  );
  expect(named('BuildkitNetworkPolicy: invalid allowedCidrs []: set monitoringNamespace: x; set openBuildPort: true')).toBe(
    'BuildkitChart: invalid networkPolicy.allowedCidrs []: set metrics.monitoringNamespace: x; set networkPolicy.openBuildPort: true',
  );
  // Only a setting followed by its value: prose that happens to say "set" stays as written.
  expect(named('CacheVolume: invalid size 12: set one or the other; reset size: 1; set size to 2')).toBe(
    'BuildkitChart: invalid cache.size 12: set one or the other; reset size: 1; set size to 2',
  );
  // A construct with renamed settings only leaves a sibling it does not rename as it is.
  expect(named('TlsBundle: invalid revision "x": set secretName: a, or set mountPath: b')).toBe(
    'BuildkitChart: invalid certRevision "x": set certSecretName: a, or set mountPath: b',
  );
});

test('the daemon and the Service, whose props are the settings of the same name, keep their own words', () => {
  expect(refusal({ maxParallelism: 0 })).toMatch(/^BuildkitDaemon: invalid maxParallelism 0: /);
  expect(refusal({ loadBalancerIP: '1.2.3' })).toMatch(/^BuildkitService: invalid loadBalancerIP "1\.2\.3": /);
});

test('a chart built in code keeps the constructs’ names', () => {
  expect(() => new BuildkitChart(Testing.app(), 'b', { cache: { size: '1Gi' } })).toThrow(/^CacheVolume: invalid size "1Gi": /);
});

test('anything but a construct’s refusal of a known setting passes through as it is', () => {
  const same = (thrown: unknown) => expect(namedBySetting(thrown)).toBe(thrown);
  same('a string');
  same(undefined);
  same(new Error('CacheVolume: size is wrong'));
  same(new Error('SomethingElse: invalid size "1"'));
  same(new Error('the chart said CacheVolume: invalid size "1"'));
  same(new Error('BuildkitService: invalid port 0: use a whole number'));
  same(new Error('TlsBundle: invalid mountPath "x": use an absolute path'));
  same(new Error('TlsBundle: invalid constructor "x"'));
  expect((namedBySetting(new Error('TlsBundle: invalid revision "x y": no')) as Error).message).toBe(
    'BuildkitChart: invalid certRevision "x y": no',
  );
  expect((namedBySetting(new Error('CacheVolume: invalid constructor 1')) as Error).message).toBe(
    'BuildkitChart: invalid cache.constructor 1',
  );
});
