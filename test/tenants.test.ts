import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdk8s';
import { paths } from '../lib/certs/layout';
import { outputProblems, repositoryDiagram, synthRepository } from '../lib/repository';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { type ServiceSettings, serviceCharts, tenantSettings } from '../lib/tenants';
import { runCertsWithPooledKeys } from './support/certs';
import { readManifests, treeDigest } from './support/dist';
import { bundlesConnect } from './support/tls';

const runCerts = runCertsWithPooledKeys(12);

// Teams that must not share: with `tenants`, each gets its own daemon, namespace, address, CA and
// certificates, manifests folder and delivery objects; a client of one is refused by every other's daemon.

/** The issue's three: one with only a name, one in its own namespace with a StatefulSet and per-replica IPs, one with a native arm64 builder. */
const THREE: ServiceSettings = {
  maxParallelism: 4,
  tenants: [
    { name: 'team-a' },
    {
      name: 'team-b',
      namespace: 'builds-b',
      workload: 'statefulset',
      replicas: 2,
      loadBalancerIP: '192.168.80.122',
      perReplicaIPs: ['192.168.80.123', '192.168.80.124'],
    },
    {
      name: 'team-c',
      loadBalancerIP: '192.168.80.125',
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.126' }],
    },
  ],
};
const TENANTS = ['team-a', 'team-b', 'team-c'];
/** Where each tenant's daemon answers: the name its server certificate is checked against. */
const SERVER_NAME: Record<string, string> = {
  'team-a': 'buildkitd.buildkit-team-a.svc.cluster.local',
  'team-b': 'buildkitd.builds-b.svc.cluster.local',
  'team-c': 'buildkitd-arm64.buildkit-team-c.svc.cluster.local',
};

const TWO: ServiceSettings = {
  maxParallelism: 4,
  tenants: [
    { name: 'team-a', loadBalancerIP: '192.168.80.121' },
    { name: 'team-b', loadBalancerIP: '192.168.80.122', workload: 'statefulset', replicas: 2 },
  ],
};

describe('the charts', () => {
  test('without tenants: the one chart as before; with them: a chart per tenant, inheriting the top level', () => {
    expect([...serviceCharts(new App(), {}).keys()]).toEqual([undefined]);
    const charts = serviceCharts(new App(), TWO);
    expect([...charts.keys()]).toEqual(['team-a', 'team-b']);
    const a = charts.get('team-a')!;
    const b = charts.get('team-b')!;
    expect([a.endpoint.namespace, b.endpoint.namespace]).toEqual(['buildkit-team-a', 'buildkit-team-b']);
    expect([a.daemon.maxParallelism, b.daemon.maxParallelism]).toEqual([4, 4]);
    expect([a.daemon.workloadKind, b.daemon.workloadKind, b.daemon.replicas]).toEqual(['deployment', 'statefulset', 2]);
    expect([a.endpoint.ips, b.endpoint.ips]).toEqual([['192.168.80.121'], ['192.168.80.122']]);
  });

  test.each<[string, ServiceSettings, RegExp]>([
    [
      'two tenants of one name',
      {
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'a', loadBalancerIP: '10.0.0.2' },
        ],
      },
      /^tenants: invalid tenants: "a" is named twice/,
    ],
    [
      'two tenants on the seed address they both inherit',
      { tenants: [{ name: 'a' }, { name: 'b' }] },
      /^tenants: invalid address "192\.168\.80\.110" of tenant b: it is tenant a's address too; give every tenant its own address$/,
    ],
    [
      "a tenant's per-replica address that is another's LoadBalancer address",
      {
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'b', loadBalancerIP: '10.0.0.2', workload: 'statefulset', replicas: 2, perReplicaIPs: ['10.0.0.3', '10.0.0.1'] },
        ],
      },
      /^tenants: invalid address "10\.0\.0\.1" of tenant b: it is tenant a's address too/,
    ],
    [
      'a top-level namespace, which no tenant would have',
      { namespace: 'builds', tenants: [{ name: 'a', loadBalancerIP: '10.0.0.1' }] },
      /^tenants: invalid namespace "builds" at the top level: each tenant has a namespace of its own \(buildkit-<name> unless the tenant sets namespace\); set it on the tenants, or leave it out$/,
    ],
    [
      "a tenant in another's namespace: each one's delivery writes its Secrets there",
      {
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'b', loadBalancerIP: '10.0.0.2', namespace: 'buildkit-a' },
        ],
      },
      /^tenants: invalid namespace "buildkit-a" of tenant b: it is tenant a's namespace too; give every tenant its own namespace$/,
    ],
    [
      "a top-level clientNamespace every tenant inherits: each one's client Secret would be readable by the others' CI",
      {
        clientNamespace: 'ci',
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'b', loadBalancerIP: '10.0.0.2' },
        ],
      },
      /^tenants: invalid clientNamespace "ci" of tenant b: it is tenant a's clientNamespace too; give every tenant its own clientNamespace \(a top-level one is every tenant's\), or leave it out for the tenant's namespace$/,
    ],
    [
      "a tenant's clientNamespace that is another tenant's namespace",
      {
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'b', loadBalancerIP: '10.0.0.2', clientNamespace: 'buildkit-a' },
        ],
      },
      /^tenants: invalid clientNamespace "buildkit-a" of tenant b: it is tenant a's namespace too/,
    ],
    [
      "a tenant's namespace that is another tenant's clientNamespace",
      {
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1', clientNamespace: 'ci-b' },
          { name: 'b', loadBalancerIP: '10.0.0.2', namespace: 'ci-b' },
        ],
      },
      /^tenants: invalid namespace "ci-b" of tenant b: it is tenant a's clientNamespace too/,
    ],
    ['a name that is no DNS label', { tenants: [{ name: 'Team_A' }] }, /^tenants: invalid tenants\[0\]\.name "Team_A"/],
    ['no tenant at all', { tenants: [] }, /^tenants: invalid tenants \[\]: name at least one tenant, or leave tenants out$/],
    [
      'tenants that are no list: a name',
      { tenants: 'team-a' as any },
      /^tenants: invalid tenants "team-a": use a list, such as \[\{ name: 'team-a', \.\.\. \}\]$/,
    ],
    ['tenants that are no list: one tenant', { tenants: { name: 'a' } as any }, /^tenants: invalid tenants \{"name":"a"\}: use a list, /],
    [
      'a setting every tenant shares, given to one',
      { tenants: [{ name: 'a', metrics: {} } as any] },
      /^tenant a: "metrics" is one setting for every tenant: set it at the top level of config, beside tenants; a tenant sets only namespace, clientNamespace, loadBalancerIP, /,
    ],
    [
      'a setting no service has',
      { tenants: [{ name: 'a', replica: 2 } as any] },
      /^tenant a: unknown setting "replica": did you mean "replicas"\?$/,
    ],
    ['a tenant that is not an object', { tenants: ['a' as any] }, /^tenants: invalid tenants\[0\] "a": use \{ name: 'team-a', \.\.\. \}$/],
    ['a tenant that is null', { tenants: [null as any] }, /^tenants: invalid tenants\[0\] null: use \{ name: 'team-a', \.\.\. \}$/],
    // Left out, the name once crashed with a TypeError deep in the DNS-label check.
    [
      'a tenant without a name',
      { tenants: [{} as any] },
      /^tenants: invalid tenants\[0\]\.name undefined: name every tenant, such as 'team-a'$/,
    ],
    ['a tenant whose name is null', { tenants: [{ name: null } as any] }, /^tenants: invalid tenants\[0\]\.name null: use a DNS label/],
    // Its Kustomizations `<name>` and `<name>-secrets` (flux-system) and Argo CD's `<name>` would replace objects this repository does not own.
    ...[
      ['flux-system', "Flux's own Kustomization flux-system/flux-system"],
      ['default', "Argo CD's built-in AppProject default"],
      ['buildkitd', 'the Kustomizations of the service before tenants'],
      ['buildkitd-secrets', 'the Kustomization of the service before tenants'],
    ].map(([name, owner]): [string, ServiceSettings, RegExp] => [
      `a name whose delivery objects are someone else's: ${name}`,
      { tenants: [{ name }] },
      new RegExp(
        `^tenants: invalid tenants\\[0\\]\\.name "${name}": its delivery objects would replace ${owner}.*; name the tenant otherwise$`,
      ),
    ]),
    [
      'a 55-character name, even with a namespace of its own: <name>-delivery would be 64',
      { tenants: [{ name: 'a'.repeat(55), namespace: 'team-a' }] },
      /^tenants: invalid tenants\[0\]\.name "a{55}": it names the DNS labels buildkit-<name> and <name>-delivery, so at most 54 characters; shorten it$/,
    ],
    [
      "a tenant in Kubernetes's own namespace, named with the tenant",
      { tenants: [{ name: 'a', namespace: 'kube-system' }] },
      /^tenant a: BuildkitChart: invalid namespace "kube-system": the chart labels its namespace's Pod Security/,
    ],
    [
      'a top-level setting a tenant inherits, named with the tenant it fails in',
      {
        replicas: 2,
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'b', loadBalancerIP: '10.0.0.2', workload: 'statefulset', perReplicaIPs: ['10.0.0.3'] },
        ],
      },
      /^tenant b: BuildkitChart: invalid perReplicaIPs: 1 addresses for 2 replicas; give exactly one IP per replica$/,
    ],
  ])('refused, one line: %s', (_what, settings, message) => {
    expect(() => serviceCharts(new App(), settings)).toThrow(message);
  });

  test('names beside those taken outside are served: flux, defaults, buildkit, buildkitd-a', () => {
    const tenants = ['flux', 'defaults', 'buildkit', 'buildkitd-a'].map((name, i) => ({ name, loadBalancerIP: `10.0.0.${i + 1}` }));
    expect([...serviceCharts(new App(), { tenants }).keys()]).toEqual(['flux', 'defaults', 'buildkit', 'buildkitd-a']);
  });

  test("two tenants whose Kustomizations share a name (a's secrets, and a-secrets) are refused by the synth, naming both", () => {
    const work = mkdtempSync(join(tmpdir(), 'buildkit-tenants-'));
    try {
      const clash: ServiceSettings = {
        tenants: [
          { name: 'a', loadBalancerIP: '10.0.0.1' },
          { name: 'a-secrets', loadBalancerIP: '10.0.0.2' },
        ],
      };
      expect(() => synthRepository({ root: work, config: clash })).toThrow(
        /^two objects are Kustomization\.kustomize\.toolkit\.fluxcd\.io flux-system\/a-secrets: flux\/Buildkit-a\/Secrets and flux\/Buildkit-a-secrets\/Service; .*a tenant's name\)$/,
      );
      expect(readdirSync(work)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('tenants with client namespaces of their own are served, also one that names its own namespace', () => {
    const charts = serviceCharts(new App(), {
      clientNamespace: 'ci',
      tenants: [
        { name: 'a', loadBalancerIP: '10.0.0.1', clientNamespace: 'ci-a' },
        { name: 'b', loadBalancerIP: '10.0.0.2', clientNamespace: 'buildkit-b' },
      ],
    });
    expect([...charts.values()].map((c) => [c.namespace, c.clientNamespace])).toEqual([
      ['buildkit-a', 'ci-a'],
      ['buildkit-b', 'buildkit-b'],
    ]);
  });

  test("hardened tenants each get a SeccompProfile of their own: the operator's profiles are cluster-wide", () => {
    const charts = serviceCharts(new App(), { ...TWO, podSecurity: 'baseline' });
    const profiles = [...charts.values()].map((c) => {
      const objects = c.toJson();
      const profile = objects.find((o) => o.kind === 'SeccompProfile');
      const daemon = objects.find((o) => o.metadata.name === c.daemon.name && ['Deployment', 'StatefulSet'].includes(o.kind));
      return [profile.metadata.name, daemon.spec.template.spec.containers[0].securityContext.seccompProfile.localhostProfile];
    });
    expect(profiles).toEqual([
      ['buildkit-team-a-rootless', 'operator/buildkit-team-a-rootless.json'],
      ['buildkit-team-b-rootless', 'operator/buildkit-team-b-rootless.json'],
    ]);
  });

  test("a tenant's certificate revision reaches only its own daemons (the rollout on a CA change)", () => {
    const tls = (revisions: Map<string | undefined, string>) =>
      [...serviceCharts(new App(), TWO, revisions).values()].map(
        (c) => c.daemon.workload.toJson().spec.template.metadata.annotations['checksum/tls'],
      );
    const [a, b] = tls(new Map());
    const [a2, b2] = tls(new Map([['team-b', 'rev-2']]));
    expect([a2 === a, b2 === b]).toEqual([true, false]);
  });

  test("each tenant's dashboard carries its name: Grafana refuses two of one title in a folder", () => {
    const titles = (settings: ServiceSettings) =>
      [...serviceCharts(new App(), settings).values()].map(
        (c) => JSON.parse(Testing.synth(c).find((o) => o.metadata.name === 'buildkit-dashboard').data['buildkit.json']).title,
      );
    expect(titles({ ...TWO, metrics: { dashboard: {} } })).toEqual(['BuildKit (team-a)', 'BuildKit (team-b)']);
    expect(titles({ ...TWO, metrics: { dashboard: { title: 'Builders' } } })).toEqual(['Builders (team-a)', 'Builders (team-b)']);
    expect(titles({ metrics: { dashboard: {} } })).toEqual(['BuildKit']);
    // Without a dashboard, a tenant gets no metrics settings it was not given.
    expect(tenantSettings(TWO, TWO.tenants![0]).metrics).toBeUndefined();
  });

  test("the README's diagram draws each tenant in a box of its own, ids apart", () => {
    const d = repositoryDiagram(serviceCharts(new App(), TWO));
    expect(d.split('\n').filter((l) => /^ {2}(subgraph|end)/.test(l))).toEqual([
      '  subgraph tenant_team_a["tenant team-a"]',
      '  end',
      '  subgraph tenant_team_b["tenant team-b"]',
      '  end',
    ]);
    expect(d).toContain('team_a__service_buildkitd["Service buildkitd<br/>LoadBalancer 192.168.80.121:1234"]');
    expect(d).toContain('team_b__workload_buildkitd["StatefulSet buildkitd<br/>2 replicas, mutual TLS on 1234"]');
    expect(d).toContain('  clients --> team_b__service_buildkitd');
  });

  test('two tenants in one namespace: the synth refuses them, naming the namespace, and writes nothing', () => {
    const work = mkdtempSync(join(tmpdir(), 'buildkit-tenants-'));
    try {
      const same: ServiceSettings = {
        tenants: [
          { name: 'a', namespace: 'builds', loadBalancerIP: '10.0.0.1' },
          { name: 'b', namespace: 'builds', loadBalancerIP: '10.0.0.2' },
        ],
      };
      expect(() => synthRepository({ root: work, config: same })).toThrow(
        /^tenants: invalid namespace "builds" of tenant b: it is tenant a's namespace too/,
      );
      expect(readdirSync(work)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('a name of 54 characters, the most, synthesizes the whole repository: its namespace and Flux identity are 63', () => {
    const work = mkdtempSync(join(tmpdir(), 'buildkit-tenants-'));
    try {
      const name = 'a'.repeat(54);
      synthRepository({ root: work, config: { tenants: [{ name, loadBalancerIP: '10.0.0.1' }] } });
      expect(readdirSync(join(work, 'dist', name))).toContain(`Namespace.buildkit-${name}.k8s.yaml`);
      const bootstrap = readFileSync(join(work, 'gitops', 'dist', 'flux-bootstrap.k8s.yaml'), 'utf8');
      expect(bootstrap).toContain(`name: ${name}-delivery\n`);
      expect(bootstrap).toContain(`name: buildkit-${name}\n`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('a repository with three tenants', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-tenants-'));
  const secrets = join(work, 'secrets');
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let out: string[] = [];
  let errors: string[] = [];
  const certs = (...args: string[]) => {
    out = [];
    errors = [];
    return runCerts([...args, '--secrets', secrets], (app) => serviceCharts(app, THREE), {
      log: (...l) => out.push(...l),
      error: (l) => errors.push(l),
    });
  };
  const bundle = async (tenant: string, file: string) => {
    const root = join(secrets, 'tenants', tenant);
    const identities = parseIdentities(readFileSync(paths(root).ageKey, 'utf8'));
    return ((await decryptDocument(readFileSync(join(root, file), 'utf8'), identities)) as any).stringData;
  };

  /** A copy of the repository's secrets/ to break, and the certs commands on it (their lines in `out`). */
  const copyOfSecrets = (name: string) => {
    const copy = join(work, name, 'secrets');
    cpSync(secrets, copy, { recursive: true });
    const run = (...args: string[]) => {
      out = [];
      return runCerts([...args, '--secrets', copy], (app) => serviceCharts(app, THREE), {
        log: (...l) => out.push(...l),
        error: (l) => out.push(l),
      });
    };
    return { copy, run };
  };

  beforeAll(async () => {
    for (const t of TENANTS) {
      expect(await certs('init', '--tenant', t)).toBe(0);
      expect(await certs('issue-client', 'laptop', '--tenant', t)).toBe(0);
    }
    synthRepository({ root: work, config: THREE });
  }, 120_000);

  test('the objects per tenant: its namespace, workload, Services and builders', () => {
    const tenant = (t: string) => readManifests(join(work, 'dist', t));
    const names = (objects: any[], kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    const [a, b, c] = TENANTS.map(tenant);
    expect(new Set(a.map((o) => o.metadata.namespace ?? o.metadata.name))).toEqual(new Set(['buildkit-team-a']));
    expect(new Set(b.map((o) => o.metadata.namespace ?? o.metadata.name))).toEqual(new Set(['builds-b']));
    expect([names(a, 'Deployment'), names(b, 'StatefulSet'), names(c, 'Deployment')]).toEqual([
      ['buildkitd'],
      ['buildkitd'],
      ['buildkitd', 'buildkitd-arm64'],
    ]);
    const ips = (objects: any[]) =>
      objects
        .filter((o) => o.spec?.type === 'LoadBalancer')
        .map((o) => o.metadata.annotations['metallb.io/loadBalancerIPs'])
        .sort();
    expect([ips(a), ips(b), ips(c)]).toEqual([
      ['192.168.80.110'],
      ['192.168.80.122', '192.168.80.123', '192.168.80.124'],
      ['192.168.80.125', '192.168.80.126'],
    ]);
    expect(b.find((o) => o.kind === 'StatefulSet').spec.replicas).toBe(2);
    expect(c.find((o) => o.metadata.name === 'buildkitd-arm64' && o.kind === 'Deployment').spec.template.spec.nodeSelector).toEqual({
      'kubernetes.io/arch': 'arm64',
    });
    // Each tenant's own Secret, policies and budget, in its own namespace.
    for (const objects of [a, b, c]) {
      expect(names(objects, 'NetworkPolicy')).toEqual(expect.arrayContaining(['buildkitd', 'buildkitd-egress']));
      const secretName = objects
        .find((o) => o.kind !== 'Namespace' && o.spec?.template)
        ?.spec.template.spec.volumes.find((v: any) => v.name === 'certs').secret.secretName;
      expect(secretName).toBe('buildkit-daemon-certs');
    }
    expect(names(b, 'PodDisruptionBudget')).toEqual(['buildkitd']);
  });

  test('each tenant has its own secrets/ folder, CA and age key: no two share one', async () => {
    const cas = await Promise.all(TENANTS.map(async (t) => (await bundle(t, 'ca/buildkit-ca.yaml'))['ca.pem']));
    expect(new Set(cas).size).toBe(3);
    const keys = TENANTS.map((t) => readFileSync(join(secrets, 'tenants', t, 'age', 'age-key.txt'), 'utf8'));
    expect(new Set(keys).size).toBe(3);
    for (const t of TENANTS) expect(existsSync(join(secrets, 'tenants', t, 'apps', 'buildkit-daemon-certs.yaml'))).toBe(true);
  });

  test("mutual TLS on loopback: each tenant's client is accepted by its own daemon and refused by the other two", async () => {
    const matrix: string[] = [];
    for (const daemonTenant of TENANTS) {
      const daemon = await bundle(daemonTenant, 'apps/buildkit-daemon-certs.yaml');
      for (const clientTenant of TENANTS) {
        const client = await bundle(clientTenant, 'clients/laptop.yaml');
        // The client even trusts the daemon's CA: only the daemon refusing its certificate can fail this.
        const ok = await bundlesConnect(daemon, { ...client, 'ca.pem': daemon['ca.pem'] }, SERVER_NAME[daemonTenant]);
        matrix.push(`${clientTenant} -> ${daemonTenant}: ${ok ? 'accepted' : 'refused'}`);
      }
    }
    expect(matrix).toEqual(TENANTS.flatMap((d) => TENANTS.map((c) => `${c} -> ${d}: ${c === d ? 'accepted' : 'refused'}`)));
    // And with its own bundle as exported, unchanged, a client reaches its own daemon.
    const own = await bundle('team-b', 'clients/laptop.yaml');
    expect(await bundlesConnect(await bundle('team-b', 'apps/buildkit-daemon-certs.yaml'), own, SERVER_NAME['team-b'])).toBe(true);
  });

  test("a CA rotation of one tenant leaves the others' files byte for byte, and names its next steps with --tenant", async () => {
    const copy = join(work, 'rotation', 'secrets');
    cpSync(secrets, copy, { recursive: true });
    const before = Object.fromEntries(TENANTS.map((t) => [t, treeDigest(join(copy, 'tenants', t))]));
    const lines: string[] = [];
    const rotate = (...args: string[]) =>
      runCerts([...args, '--tenant', 'team-b', '--secrets', copy], (app) => serviceCharts(app, THREE), {
        log: (...l) => lines.push(...l),
        error: (l) => lines.push(l),
      });
    expect(await rotate('rotate', '--ca')).toBe(0);
    // What to run next, as the tenant's commands: each with --tenant.
    expect(lines).toContain(
      'next: re-issue every client (`npm run certs -- issue-client NAME --renew --tenant team-b`), export and hand them out, then `npm run certs -- rotate --finish-ca --tenant team-b`',
    );
    expect(await rotate('rotate', '--ca')).toBe(1);
    expect(lines.at(-1)).toBe('certs: a CA rotation is under way: run `npm run certs -- rotate --finish-ca --tenant team-b` first');
    expect(await rotate('rotate', '--finish-ca', '--force')).toBe(0);
    const after = Object.fromEntries(TENANTS.map((t) => [t, treeDigest(join(copy, 'tenants', t))]));
    expect([after['team-a'], after['team-c']]).toEqual([before['team-a'], before['team-c']]);
    expect(after['team-b']['ca/buildkit-ca.yaml']).not.toBe(before['team-b']['ca/buildkit-ca.yaml']);
    expect(after['team-b']['apps/buildkit-daemon-certs.yaml']).not.toBe(before['team-b']['apps/buildkit-daemon-certs.yaml']);
  });

  test('dist/ holds a folder per tenant, and the delivery objects apply each on its own', () => {
    expect(readdirSync(join(work, 'dist')).sort()).toEqual(TENANTS);
    const gitops = readManifests(join(work, 'gitops', 'dist'));
    const kustomizations = gitops
      .filter((o) => o.kind === 'Kustomization')
      .map((k) => [k.metadata.name, k.spec.path, k.spec.serviceAccountName]);
    expect(kustomizations).toEqual(
      TENANTS.flatMap((t) => [
        [`${t}-secrets`, `./secrets/tenants/${t}/apps`, `${t}-delivery`],
        [t, `./dist/${t}`, `${t}-delivery`],
      ]),
    );
    const roleNamespaces = (sa: string) =>
      gitops.filter((o) => o.kind === 'RoleBinding' && o.subjects[0].name === sa).map((o) => o.metadata.namespace);
    expect(TENANTS.map((t) => roleNamespaces(`${t}-delivery`))).toEqual([['buildkit-team-a'], ['builds-b'], ['buildkit-team-c']]);
    const apps = gitops.filter((o) => o.kind === 'Application').map((o) => [o.metadata.name, o.spec.project, o.spec.source.path]);
    expect(apps).toEqual(TENANTS.map((t) => [t, t, `dist/${t}`]));
  });

  test('the certs commands need --tenant, and name the tenants there are', async () => {
    expect(await certs('issue-client', 'ci')).toBe(2);
    expect(errors[0]).toBe('certs: config.ts has tenants: name one with --tenant (team-a, team-b, team-c)');
    expect(await certs('issue-client', 'ci', '--tenant', 'team-d')).toBe(2);
    expect(errors[0]).toBe('certs: --tenant team-d: no such tenant in config.ts (team-a, team-b, team-c)');
  });

  test("export names each tenant's buildx builders after it: one machine can hold the builders of several tenants", async () => {
    const builders: string[] = [];
    for (const t of TENANTS) {
      expect(await certs('export', 'laptop', '--tenant', t, '--out', join(work, `bundle-${t}`))).toBe(0);
      builders.push(...out.flatMap((l) => /--name (\S+)/.exec(l)?.[1] ?? []));
    }
    expect(builders).toEqual([
      'buildkit-team-a-builder',
      'buildkit-team-b-builder',
      'buildkit-team-b-buildkitd-0',
      'buildkit-team-b-buildkitd-1',
      'buildkit-team-b-repo',
      'buildkit-team-c-builder',
      'buildkit-team-c-builder',
    ]);
    // team-c's native arm64 builder joins its one builder as a second node.
    expect(out.filter((l) => l.includes('--append --name buildkit-team-c-builder --node buildkitd-arm64 '))).toHaveLength(1);
  });

  test('check goes over every tenant and passes them', async () => {
    expect(await certs('check')).toBe(0);
    for (const t of TENANTS) expect(out.filter((l) => l.startsWith(`OK   [${t}] `)).length).toBeGreaterThan(2);
  });

  // A hand edit or a bad merge makes one tenant's bundle trust another tenant's CA as well.
  test.each([
    ['in-cluster', 'team-b', 'apps/buildkit-client-certs', 'team-a'],
    ['client', 'team-c', 'clients/laptop', 'team-b'],
  ])('check fails on the %s bundle of %s (%s) that trusts %s’s CA', async (_kind, tenant, bundle, other) => {
    const { copy, run } = copyOfSecrets(`trust-${tenant}`);
    const trusting = join(copy, `tenants/${tenant}/public/${bundle}/ca.pem`);
    const foreign = readFileSync(join(copy, `tenants/${other}/public/ca/buildkit-ca/ca.pem`), 'utf8');
    writeFileSync(trusting, readFileSync(trusting, 'utf8') + foreign);
    expect(await run('check')).toBe(1);
    expect(out).toContain(
      `tenant ${tenant}: ${trusting} trusts tenant ${other}'s CA, so ${other}'s clients would be accepted: run \`npm run certs -- rotate --ca --tenant ${tenant}\``,
    );
  });

  test("a tenant whose age key is lost is told to restore it from its own Secret, and to re-run as the tenant's", async () => {
    const { copy, run } = copyOfSecrets('lost-key');
    rmSync(paths(join(copy, 'tenants', 'team-b')).ageKey);
    expect(await run('issue-client', 'ci', '--tenant', 'team-b')).toBe(1);
    expect(out).toEqual([
      `certs: ${paths(join(copy, 'tenants', 'team-b')).ageKey} is missing: restore the age identity .sops.yaml names (from your backup, or from the cluster: kubectl -n flux-system get secret sops-age-team-b -o jsonpath='{.data.age\\.agekey}' | base64 -d), or run \`npm run certs -- init --tenant team-b\` in a new repository`,
    ]);
    expect(await run('init', '--tenant', 'team-b')).toBe(1);
    const folder = join(copy, 'tenants', 'team-b');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(new RegExp(`^certs: ${folder}/age/age-key\\.txt is missing, and ${folder}/ is encrypted to age1\\w+: `));
    expect(out[0]).toContain(`get secret sops-age-team-b -o jsonpath='{.data.age\\.agekey}' | base64 -d > ${folder}/age/age-key.txt`);
  });

  test("a tenant's init prints the command that gives Flux its age key: its own Secret, from its own folder", async () => {
    const { copy, run } = copyOfSecrets('new-tenant');
    rmSync(join(copy, 'tenants', 'team-c'), { recursive: true });
    expect(await run('init', '--tenant', 'team-c')).toBe(0);
    expect(out).toContain(
      `  kubectl -n flux-system create secret generic sops-age-team-c --from-file=age.agekey=${paths(join(copy, 'tenants', 'team-c')).ageKey}`,
    );
  });

  test("a tenant without certificates fails check with the command that makes them, as the tenant's; the others are still checked", async () => {
    const { copy, run } = copyOfSecrets('missing');
    rmSync(join(copy, 'tenants', 'team-a'), { recursive: true });
    expect(await run('check')).toBe(1);
    const missing = `${join(copy, 'tenants/team-a/ca/buildkit-ca.yaml')} is missing: run \`npm run certs -- init --tenant team-a\``;
    expect(out[0]).toBe(`FAIL [team-a] ${missing}`);
    expect(out.filter((l) => /^OK {3}\[team-[bc]\] /.test(l)).length).toBeGreaterThan(5);
    expect(out.filter((l) => l.startsWith('FAIL'))).toHaveLength(1);
    // The check went to its end: the cross-tenant part read past the missing folder.
    expect(out.filter((l) => l.startsWith('certs:'))).toEqual([]);
    expect(await run('sync', '--tenant', 'team-a')).toBe(1);
    expect(out).toEqual([`certs: ${missing}`]);
    // A check with --tenant names its fixes the same way.
    expect(await run('check', '--tenant', 'team-a')).toBe(1);
    expect(out).toEqual([`certs: ${missing}`]);
    // So do the problems check finds: here every certificate expires within --min-days.
    expect(await run('check', '--min-days', '400')).toBe(1);
    const fixes = out.filter((l) => l.includes('`npm run certs -- ') && !l.startsWith('FAIL [team-a]'));
    expect(fixes.length).toBeGreaterThan(3);
    for (const l of fixes) expect(l).toMatch(/^\[(team-[bc])\] .*`npm run certs -- [^`]* --tenant \1`/);
  });

  test('verify names each tenant added after the others had certificates; a repository with none has no such problem', () => {
    const unready = (secretsDir: string) =>
      outputProblems({ root: work, config: THREE, secrets: secretsDir }).filter((l) => l.includes(' has no certificates'));
    expect(outputProblems({ root: work, config: THREE })).toEqual([]);
    const { copy } = copyOfSecrets('added');
    rmSync(join(copy, 'tenants', 'team-b'), { recursive: true });
    expect(unready(copy)).toEqual([
      'added/secrets/tenants/team-b/: tenant team-b has no certificates, while other tenants have theirs: run `npm run certs -- init --tenant team-b`, then commit secrets/ and the outputs',
    ]);
    rmSync(join(copy, 'tenants', 'team-a'), { recursive: true });
    expect(unready(copy).map((l) => l.split(':')[0])).toEqual(['added/secrets/tenants/team-a/', 'added/secrets/tenants/team-b/']);
    rmSync(join(copy, 'tenants', 'team-c'), { recursive: true });
    expect(unready(copy)).toEqual([]);
  });

  test('verify names the certificates of a tenant config.ts no longer has, and leaves them where they are', () => {
    const { copy } = copyOfSecrets('removed');
    const gone = (config: ServiceSettings) =>
      outputProblems({ root: work, config, secrets: copy }).filter((l) => l.includes('config.ts has no tenant'));
    expect(gone(THREE)).toEqual([]);
    expect(gone({ ...THREE, tenants: THREE.tenants!.filter((t) => t.name !== 'team-b') })).toEqual([
      'removed/secrets/tenants/team-b/: config.ts has no tenant team-b: if it is gone, remove its certificates with `git rm -r removed/secrets/tenants/team-b/`',
    ]);
    // Back to one service: every tenant's folder is named.
    expect(gone({}).map((l) => l.split(':')[0])).toEqual(TENANTS.map((t) => `removed/secrets/tenants/${t}/`));
    // A config.ts the synth refuses is verify's one line.
    expect(outputProblems({ root: work, config: { tenants: [{ name: 'a' }, { name: 'a' }] } })).toEqual([
      'tenants: invalid tenants: "a" is named twice; give every tenant its own name',
    ]);
    // Without --secrets, verify reads the repository's own secrets/.
    const config = { ...THREE, tenants: THREE.tenants!.filter((t) => t.name !== 'team-a') };
    expect(outputProblems({ root: work, config }).filter((l) => l.includes('config.ts has no tenant'))).toEqual([
      'secrets/tenants/team-a/: config.ts has no tenant team-a: if it is gone, remove its certificates with `git rm -r secrets/tenants/team-a/`',
    ]);
    expect(readdirSync(join(copy, 'tenants')).sort()).toEqual([...TENANTS].sort());
  });

  test('a CA two tenants share fails check even when each tenant on its own is sound', async () => {
    const { copy, run } = copyOfSecrets('shared-sound');
    rmSync(join(copy, 'tenants/team-c'), { recursive: true });
    cpSync(join(copy, 'tenants/team-a'), join(copy, 'tenants/team-c'), { recursive: true });
    // team-c's certificates re-issued for its own names and namespace, by the CA it copied.
    expect(await run('sync', '--tenant', 'team-c')).toBe(0);
    expect(await run('check')).toBe(1);
    expect(out.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(out.filter((l) => !l.startsWith('OK   ') && !l.startsWith('['))).toEqual([
      'tenants team-a and team-c share a CA (public/ca/buildkit-ca/ca.pem): run `npm run certs -- rotate --ca --tenant team-c`',
    ]);
  });

  test('check fails when two tenants share a CA (a copied folder)', async () => {
    const { copy, run } = copyOfSecrets('shared');
    rmSync(join(copy, 'tenants/team-c'), { recursive: true });
    cpSync(join(copy, 'tenants/team-a'), join(copy, 'tenants/team-c'), { recursive: true });
    const code = await run('check');
    expect(code).toBe(1);
    expect(out.filter((l) => l.includes('share'))).toEqual([
      'tenants team-a and team-c share a CA (public/ca/buildkit-ca/ca.pem): run `npm run certs -- rotate --ca --tenant team-c`',
    ]);
  });

  test('without tenants, --tenant is refused', async () => {
    const code = await runCerts(['check', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, {}), {
      log: () => {},
      error: (l) => errors.push(l),
    });
    expect(code).toBe(2);
  });
});

describe('moving to tenants', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-migrate-'));
  const secrets = join(work, 'secrets');
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const quiet = { log: () => {}, error: () => {} };
  const ONE: ServiceSettings = { tenants: [{ name: 'team-a', loadBalancerIP: '192.168.80.121' }] };

  test('a repository of one CA: synth refuses tenants until migrate moves its certificates, which sync then re-homes', async () => {
    expect(await runCerts(['init', '--secrets', secrets], (app) => serviceCharts(app, {}), quiet)).toBe(0);
    const before = readFileSync(join(secrets, 'ca', 'buildkit-ca.yaml'), 'utf8');
    expect(() => synthRepository({ root: work, config: ONE })).toThrow(
      'secrets/ holds the certificates from before tenants (one CA in ca/): move them to the tenant they serve with `npm run certs -- migrate --tenant NAME`',
    );
    const lines: string[] = [];
    const io = { log: (...l: string[]) => lines.push(...l), error: (l: string) => lines.push(l) };
    expect(await runCerts(['migrate', '--secrets', secrets], (app) => serviceCharts(app, ONE), io)).toBe(2);
    // A tenant folder already there is never merged into.
    mkdirSync(join(secrets, 'tenants', 'team-a'), { recursive: true });
    expect(await runCerts(['migrate', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), io)).toBe(2);
    expect(lines.at(-2)).toMatch(/^certs: .*secrets\/tenants\/team-a exists already: migrate into a tenant that has none$/);
    expect(readFileSync(join(secrets, 'ca', 'buildkit-ca.yaml'), 'utf8')).toBe(before);
    rmSync(join(secrets, 'tenants'), { recursive: true });
    expect(await runCerts(['migrate', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), io)).toBe(0);
    expect(lines.slice(-2)).toEqual([
      expect.stringMatching(/^moved .*secrets\/tenants\/team-a\/ca, .*secrets\/tenants\/team-a\/apps, /),
      "next: `npm run certs -- sync --tenant team-a` moves its Secrets to the tenant's namespace and re-issues what its names changed",
    ]);
    expect(readFileSync(join(secrets, 'tenants', 'team-a', 'ca', 'buildkit-ca.yaml'), 'utf8')).toBe(before);
    expect(readdirSync(secrets)).toEqual(['tenants']);
    expect(await runCerts(['migrate', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), io)).toBe(2);
    expect(lines.at(-2)).toMatch(/^certs: .*secrets holds no certificates from before tenants \(no ca\/\): nothing to migrate$/);
    // The tenant's namespace differs from the old one: synth names the fix, sync applies it.
    expect(() => synthRepository({ root: work, config: ONE })).toThrow(/^tenant team-a: .*: run `npm run certs -- sync --tenant team-a`/);
    expect(await runCerts(['sync', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), quiet)).toBe(0);
    synthRepository({ root: work, config: ONE });
    expect(readdirSync(join(work, 'dist'))).toEqual(['team-a']);
  }, 120_000);
});
