import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Chart, Testing } from 'cdk8s';
import ts from 'typescript';
import {
  ArgoCdApplication,
  ArgoCdProject,
  BuildkitAlerts,
  BuildkitChart,
  type BuildkitChartProps,
  BuildkitDaemon,
  BuildkitDashboard,
  BuildkitEgressPolicy,
  BuildkitMetrics,
  BuildkitNetworkPolicy,
  BuildkitSeccompProfile,
  BuildkitService,
  CacheVolume,
  certs,
  deliveredKinds,
  FluxDeliveryIdentity,
  FluxKustomizations,
  RegistryCache,
  TlsBundle,
} from '../lib';
import { paths } from '../lib/certs/layout';
import { buildGitops } from '../lib/gitops';
import { splitPemBundle } from '../lib/pki/check';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { certsContext } from './support/certs';
import { ROOT, readTree } from './support/dist';
import { keyPool } from './support/keys';

// Every `@default` that names a value is checked against what the code does: building with that value given
// must synthesize exactly what building without it does. Descriptions (`@default - ...`) are prose.

interface DocumentedDefault {
  readonly file: string;
  readonly iface: string;
  readonly prop: string;
  readonly text: string;
}

function documentedDefaults(): DocumentedDefault[] {
  const files = (function walk(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  })(join(ROOT, 'lib'));
  const found: DocumentedDefault[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isInterfaceDeclaration(node)) {
        for (const member of node.members) {
          for (const tag of ts.getJSDocTags(member).filter((t) => t.tagName.text === 'default')) {
            const text = ts.getTextOfJSDocComment(tag.comment) ?? '';
            if (!text.startsWith('-')) found.push({ file, iface: node.name.text, prop: (member.name as ts.Identifier).text, text });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** The value a `@default` names: a JavaScript literal, perhaps followed by a remark in parentheses. */
function literal(text: string): unknown {
  const value = /^('[^']*'|-?\d+(\.\d+)?|true|false|\{.*\})(\s+\(.*)?,?/.exec(text)?.[1];
  if (value === undefined) throw new Error(`@default ${text}: not a literal; write "@default - ..." for a description`);
  return new Function(`return (${value});`)();
}

const synth = (build: (chart: Chart) => void) => {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart);
};
const daemonIn = (chart: Chart) => new BuildkitDaemon(chart, 'Daemon');
const scope = { namespace: 'buildkit', jobs: ['buildkitd-metrics'], container: 'buildkitd' };
const KINDS = deliveredKinds(Testing.synth(new BuildkitChart(Testing.app(), 'b')));

/** For each Props interface: the manifests built with some of its settings (and whatever else it needs). */
const BUILD: Record<string, (props: Record<string, unknown>, prop: string) => unknown> = {
  BuildkitChartProps: (p, prop) =>
    Testing.synth(new BuildkitChart(Testing.app(), 'b', { ...(prop === 'seccompProfile' ? { podSecurity: 'baseline' } : {}), ...p })),
  BuildkitDaemonProps: (p, prop) =>
    synth((c) => new BuildkitDaemon(c, 'D', { ...(prop === 'seccompLocalhostProfile' ? { podSecurity: 'baseline' } : {}), ...p })),
  HistorySettings: (p) => synth((c) => new BuildkitDaemon(c, 'D', { history: p })),
  CacheGuardSettings: (p) => synth((c) => new BuildkitDaemon(c, 'D', { cacheGuard: p })),
  TolerationSettings: (p) => synth((c) => new BuildkitDaemon(c, 'D', { scheduling: { tolerations: [{ key: 'k', ...p }] } })),
  RegistrySettings: (p) => synth((c) => new BuildkitDaemon(c, 'D', { registries: { 'registry.lan': p } })),
  MetricsSettings: (p) => Testing.synth(new BuildkitChart(Testing.app(), 'b', { metrics: p })),
  NetworkPolicySettings: (p) => Testing.synth(new BuildkitChart(Testing.app(), 'b', { networkPolicy: p })),
  EgressSettings: (p) => Testing.synth(new BuildkitChart(Testing.app(), 'b', { egress: p })),
  ClusterDnsSettings: (p) => Testing.synth(new BuildkitChart(Testing.app(), 'b', { egress: { dns: p } })),
  EgressDestination: (p) =>
    Testing.synth(new BuildkitChart(Testing.app(), 'b', { egress: { allow: [{ cidr: '192.168.1.20/32', port: 3000, ...p }] } })),
  BuildkitEgressPolicyProps: (p) => synth((c) => new BuildkitEgressPolicy(c, 'E', { daemon: daemonIn(c), ...p })),
  SeccompProfileSettings: (p) => Testing.synth(new BuildkitChart(Testing.app(), 'b', { podSecurity: 'baseline', seccompProfile: p })),
  AlertThresholds: (p) => synth((c) => new BuildkitAlerts(c, 'A', { ...scope, ...p })),
  BuildkitAlertsProps: (p) => synth((c) => new BuildkitAlerts(c, 'A', { ...scope, ...p })),
  BuildkitDashboardProps: (p) => synth((c) => new BuildkitDashboard(c, 'G', { ...scope, ...p })),
  BuildkitMetricsProps: (p, prop) =>
    synth(
      (c) =>
        new BuildkitMetrics(c, 'M', {
          daemon: new BuildkitDaemon(c, 'D', { metricsPort: 6060 }),
          ...(prop === 'interval' ? { serviceMonitor: true } : {}),
          ...p,
        }),
    ),
  BuildkitNetworkPolicyProps: (p) => synth((c) => new BuildkitNetworkPolicy(c, 'N', { daemon: daemonIn(c), ...p })),
  BuildkitServiceProps: (p) => synth((c) => new BuildkitService(c, 'S', { daemon: daemonIn(c), ...p })),
  BuildkitSeccompProfileProps: (p) => synth((c) => new BuildkitSeccompProfile(c, 'P', p)),
  CacheVolumeProps: (p, prop) =>
    synth((c) => {
      const persistent = ['claimName', 'storageClassName'].includes(prop) ? { persistent: true } : {};
      return new BuildkitDaemon(c, 'D', { cache: new CacheVolume(c, 'C', { ...persistent, ...p }) });
    }),
  TlsBundleProps: (p) => synth((c) => new BuildkitDaemon(c, 'D', { tls: new TlsBundle(c, 'T', p) })),
  RegistryCacheProps: (p, prop) =>
    synth((c) => new RegistryCache(c, 'R', { size: '20Gi', ...(prop === 'storageClassName' ? { persistent: true } : {}), ...p })),
  FluxKustomizationsProps: (p) =>
    synth((c) => new FluxKustomizations(c, 'F', { workloads: [{ kind: 'Deployment', name: 'buildkitd', namespace: 'buildkit' }], ...p })),
  HealthCheckedWorkload: (p) =>
    synth((c) => new FluxKustomizations(c, 'F', { workloads: [{ kind: 'Deployment', name: 'buildkitd', namespace: 'buildkit', ...p }] })),
  ArgoCdApplicationProps: (p) =>
    synth(
      (c) =>
        new ArgoCdApplication(c, 'A', { repoURL: 'https://git.example.com/platform/buildkit-service.git', namespace: 'buildkit', ...p }),
    ),
  ArgoCdProjectProps: (p) =>
    synth((c) => new ArgoCdProject(c, 'P', { repoURL: 'https://git.example.com/platform/buildkit-service.git', kinds: KINDS, ...p })),
  FluxDeliveryIdentityProps: (p) => synth((c) => new FluxDeliveryIdentity(c, 'F', { kinds: KINDS, ...p })),
  GitopsSettings: (p) => {
    const app = new App();
    buildGitops(app, new Map([[undefined, new BuildkitChart(new App(), 'buildkit')]]), p);
    return app.charts.map((c) => Testing.synth(c));
  },
};

/**
 * Options of the certificate commands, each a number of days: a scenario runs the command on a fresh
 * secrets/ with the options given, and the test compares every certificate's validity it leaves.
 */
type Scenario = (root: string, options: Record<string, unknown>) => Promise<void>;
const NOW = new Date('2026-06-01T00:00:00Z');
const newKeyPair = keyPool();
const ctx = (root: string, settings: BuildkitChartProps = {}) => certsContext(root, settings, { now: NOW, newKeyPair });
const COMMANDS: Record<string, Scenario> = {
  Validity: (root, o) => certs.init(ctx(root), o),
  IssueClientOptions: async (root, o) => {
    await certs.init(ctx(root));
    await certs.issueClient(ctx(root), 'laptop', o);
  },
  RotateOptions: async (root, o) => {
    await certs.init(ctx(root));
    await certs.rotate(ctx(root), o); // serverDays: new server certificates
    await certs.rotate(ctx(root), { ...o, ca: true }); // caDays: a new CA
  },
  SyncOptions: async (root, o) => {
    await certs.init(ctx(root));
    await certs.sync(ctx(root, { loadBalancerIP: '192.168.80.111' }), o); // a new address: a new server certificate
  },
};

/** Each certificate in secrets/ (decrypted) with its validity, by file and key. */
async function validities(root: string): Promise<Record<string, string>> {
  const identities = parseIdentities(readFileSync(paths(root).ageKey, 'utf8'));
  const out: Record<string, string> = {};
  for (const [file] of readTree(root)) {
    if (!file.endsWith('.yaml') || file === '.sops.yaml' || file === 'apps/namespace.yaml') continue;
    const data = ((await decryptDocument(readFileSync(join(root, file), 'utf8'), identities)) as { stringData: Record<string, string> })
      .stringData;
    for (const [key, pem] of Object.entries(data)) {
      if (!key.endsWith('.pem') || key === 'key.pem') continue;
      out[`${file} ${key}`] = splitPemBundle(pem)
        .map((c) => `${new X509Certificate(c).validFrom} to ${new X509Certificate(c).validTo}`)
        .join('; ');
    }
  }
  return out;
}

async function validitiesAfter(scenario: Scenario, options: Record<string, unknown>): Promise<Record<string, string>> {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-defaults-'));
  try {
    await scenario(join(work, 'secrets'), options);
    return await validities(join(work, 'secrets'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const defaults = documentedDefaults();

test('the documented defaults are found: every construct has some, each names a value or describes one', () => {
  expect(defaults.length).toBeGreaterThan(60);
  expect(new Set(defaults.map((d) => d.iface))).toEqual(new Set([...Object.keys(BUILD), ...Object.keys(COMMANDS)]));
  expect(() => literal("the seed's")).toThrow(/not a literal/);
  expect(literal('10800 (3 hours), applied only when the Service selects more than one pod')).toBe(10800);
  expect(literal("{ maxAge: '168h', maxEntries: 300 }")).toEqual({ maxAge: '168h', maxEntries: 300 });
});

test.each(defaults.filter((d) => BUILD[d.iface]).map((d) => [`${d.iface}.${d.prop} = ${d.text}`, d]))(
  '%s: giving it changes nothing',
  (_name, d) => {
    const { iface, prop, text } = d as DocumentedDefault;
    const build = BUILD[iface];
    expect(build({ [prop]: literal(text) }, prop)).toEqual(build({}, prop));
  },
);

test.each(defaults.filter((d) => COMMANDS[d.iface]).map((d) => [`${d.iface}.${d.prop} = ${d.text}`, d]))(
  '%s: giving it issues the same validity',
  async (_name, d) => {
    const { iface, prop, text } = d as DocumentedDefault;
    const given = await validitiesAfter(COMMANDS[iface], { [prop]: literal(text) });
    expect(Object.keys(given).length).toBeGreaterThan(3);
    expect(given).toEqual(await validitiesAfter(COMMANDS[iface], {}));
  },
);

test('a wrong @default is caught: the same check fails for a value that is not the default', () => {
  const build = BUILD.BuildkitDaemonProps;
  expect(build({ port: 1235 }, 'port')).not.toEqual(build({}, 'port'));
  expect(BUILD.HistorySettings({ maxEntries: 301 }, 'maxEntries')).not.toEqual(BUILD.HistorySettings({}, 'maxEntries'));
  expect(BUILD.CacheVolumeProps({ size: '60Gi' }, 'size')).not.toEqual(BUILD.CacheVolumeProps({}, 'size'));
  expect(BUILD.BuildkitMetricsProps({ interval: '31s' }, 'interval')).not.toEqual(BUILD.BuildkitMetricsProps({}, 'interval'));
});

test('a wrong @default of a command is caught: one day more is another validity', async () => {
  for (const [iface, options] of [
    ['Validity', { caDays: 3651 }],
    ['SyncOptions', { serverDays: 366 }],
    ['RotateOptions', { caDays: 3651 }],
  ] as const) {
    expect({ iface, same: await validitiesAfter(COMMANDS[iface], options) }).not.toEqual({
      iface,
      same: await validitiesAfter(COMMANDS[iface], {}),
    });
  }
});
