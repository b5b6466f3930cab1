import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { type ServiceSettings, serviceCharts, serviceDiagram } from '../lib';
import { paths } from '../lib/certs/layout';
import { runCerts } from '../lib/cli/certs';
import { synthRepository } from '../lib/repository';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { readManifests } from './support/dist';
import { bundlesConnect } from './support/tls';

// Teams that must not share: with `tenants`, each gets its own daemon, namespace, address, CA and
// certificates, manifests folder and delivery objects; a client of one is refused by every other's daemon.

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
      /^tenants: invalid loadBalancerIP: 192\.168\.80\.110 is used by tenants a and b; give every tenant its own address$/,
    ],
    ['a name that is no DNS label', { tenants: [{ name: 'Team_A' }] }, /^tenants: invalid tenants\[0\]\.name "Team_A"/],
    ['no tenant at all', { tenants: [] }, /^tenants: invalid tenants \[\]: name at least one tenant, or leave tenants out$/],
    ['a setting a tenant cannot have', { tenants: [{ name: 'a', metrics: {} } as any] }, /^tenant a: unknown setting "metrics"/],
    ['a tenant that is not an object', { tenants: ['a' as any] }, /^tenants: invalid tenants\[0\] "a": use \{ name: 'team-a', \.\.\. \}$/],
  ])('refused, one line: %s', (_what, settings, message) => {
    expect(() => serviceCharts(new App(), settings)).toThrow(message);
  });

  test('the diagram draws each tenant in a box of its own, ids apart', () => {
    const app = new App();
    serviceCharts(app, TWO);
    const d = serviceDiagram(app);
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

  test('two tenants in one namespace with one daemon name are two objects of one name: the synth refuses them', () => {
    const work = mkdtempSync(join(tmpdir(), 'buildkit-tenants-'));
    try {
      const same: ServiceSettings = {
        tenants: [
          { name: 'a', namespace: 'builds', loadBalancerIP: '10.0.0.1' },
          { name: 'b', namespace: 'builds', loadBalancerIP: '10.0.0.2' },
        ],
      };
      expect(() => synthRepository({ root: work, config: same })).toThrow(/^two objects are Namespace builds: /);
      expect(readdirSync(work)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('a repository with two tenants', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-tenants-'));
  const secrets = join(work, 'secrets');
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let out: string[] = [];
  let errors: string[] = [];
  const certs = (...args: string[]) => {
    out = [];
    errors = [];
    return runCerts([...args, '--secrets', secrets], (app) => serviceCharts(app, TWO), {
      log: (...l) => out.push(...l),
      error: (l) => errors.push(l),
    });
  };
  const bundle = async (tenant: string, file: string) => {
    const root = join(secrets, 'tenants', tenant);
    const identities = parseIdentities(readFileSync(paths(root).ageKey, 'utf8'));
    return ((await decryptDocument(readFileSync(join(root, file), 'utf8'), identities)) as any).stringData;
  };

  beforeAll(async () => {
    expect(await certs('init', '--tenant', 'team-a')).toBe(0);
    expect(await certs('init', '--tenant', 'team-b')).toBe(0);
    expect(await certs('issue-client', 'laptop', '--tenant', 'team-a')).toBe(0);
    synthRepository({ root: work, config: TWO });
  }, 120_000);

  test('each tenant has its own secrets/ folder, CA and age key', async () => {
    for (const t of ['team-a', 'team-b']) expect(existsSync(join(secrets, 'tenants', t, 'ca', 'buildkit-ca.yaml'))).toBe(true);
    const caA = (await bundle('team-a', 'ca/buildkit-ca.yaml'))['ca.pem'];
    const caB = (await bundle('team-b', 'ca/buildkit-ca.yaml'))['ca.pem'];
    expect(caA).not.toBe(caB);
    expect(readFileSync(join(secrets, 'tenants/team-a/age/age-key.txt'), 'utf8')).not.toBe(
      readFileSync(join(secrets, 'tenants/team-b/age/age-key.txt'), 'utf8'),
    );
  });

  test("a client of team-a passes team-a's daemon and is refused by team-b's", async () => {
    const client = await bundle('team-a', 'clients/laptop.yaml');
    const daemonA = await bundle('team-a', 'apps/buildkit-daemon-certs.yaml');
    const daemonB = await bundle('team-b', 'apps/buildkit-daemon-certs.yaml');
    expect(await bundlesConnect(daemonA, client, 'buildkitd.buildkit-team-a.svc.cluster.local')).toBe(true);
    // The client even trusts team-b's server: only team-b's daemon refusing its certificate can fail this.
    expect(await bundlesConnect(daemonB, { ...client, 'ca.pem': daemonB['ca.pem'] }, 'buildkitd.buildkit-team-b.svc.cluster.local')).toBe(
      false,
    );
  });

  test('dist/ holds a folder per tenant, and the delivery objects apply each on its own', () => {
    expect(readdirSync(join(work, 'dist')).sort()).toEqual(['team-a', 'team-b']);
    const a = readManifests(join(work, 'dist', 'team-a'));
    expect(new Set(a.map((o) => o.metadata.namespace ?? o.metadata.name))).toEqual(new Set(['buildkit-team-a']));
    const gitops = readManifests(join(work, 'gitops', 'dist'));
    const kustomizations = gitops
      .filter((o) => o.kind === 'Kustomization')
      .map((k) => [k.metadata.name, k.spec.path, k.spec.serviceAccountName]);
    expect(kustomizations).toEqual([
      ['team-a-secrets', './secrets/tenants/team-a/apps', 'team-a-delivery'],
      ['team-a', './dist/team-a', 'team-a-delivery'],
      ['team-b-secrets', './secrets/tenants/team-b/apps', 'team-b-delivery'],
      ['team-b', './dist/team-b', 'team-b-delivery'],
    ]);
    const roleNamespaces = (sa: string) =>
      gitops.filter((o) => o.kind === 'RoleBinding' && o.subjects[0].name === sa).map((o) => o.metadata.namespace);
    expect([roleNamespaces('team-a-delivery'), roleNamespaces('team-b-delivery')]).toEqual([['buildkit-team-a'], ['buildkit-team-b']]);
    const apps = gitops.filter((o) => o.kind === 'Application').map((o) => [o.metadata.name, o.spec.project, o.spec.source.path]);
    expect(apps).toEqual([
      ['team-a', 'team-a', 'dist/team-a'],
      ['team-b', 'team-b', 'dist/team-b'],
    ]);
  });

  test('the certs commands need --tenant, and name the tenants there are', async () => {
    expect(await certs('issue-client', 'ci')).toBe(2);
    expect(errors[0]).toBe('certs: config.ts has tenants: name one with --tenant (team-a, team-b)');
    expect(await certs('issue-client', 'ci', '--tenant', 'team-c')).toBe(2);
    expect(errors[0]).toBe('certs: --tenant team-c: no such tenant in config.ts (team-a, team-b)');
  });

  test('check goes over every tenant, then fails when one trusts another tenant’s CA', async () => {
    expect(await certs('check')).toBe(0);
    expect(out.filter((l) => l.startsWith('OK   [team-a] ')).length).toBeGreaterThan(2);
    expect(out.filter((l) => l.startsWith('OK   [team-b] ')).length).toBeGreaterThan(1);
    const copy = join(work, 'copy');
    cpSync(secrets, join(copy, 'secrets'), { recursive: true });
    // team-b's in-cluster bundle is made to trust team-a's CA as well (a hand edit or a bad merge).
    const trusting = join(copy, 'secrets/tenants/team-b/public/apps/buildkit-client-certs/ca.pem');
    const foreign = readFileSync(join(copy, 'secrets/tenants/team-a/public/ca/buildkit-ca/ca.pem'), 'utf8');
    const { writeFileSync } = require('node:fs');
    writeFileSync(trusting, readFileSync(trusting, 'utf8') + foreign);
    out = [];
    const code = await runCerts(['check', '--secrets', join(copy, 'secrets')], (app) => serviceCharts(app, TWO), {
      log: (...l) => out.push(...l),
      error: () => {},
    });
    expect(code).toBe(1);
    expect(out).toContain(
      `tenant team-b: ${trusting} trusts tenant team-a's CA, so team-a's clients would be accepted: run \`npm run certs -- rotate --ca --tenant team-b\``,
    );
  });

  test('check fails when two tenants share a CA (a copied folder)', async () => {
    const copy = join(work, 'shared');
    cpSync(secrets, join(copy, 'secrets'), { recursive: true });
    rmSync(join(copy, 'secrets/tenants/team-b'), { recursive: true });
    cpSync(join(copy, 'secrets/tenants/team-a'), join(copy, 'secrets/tenants/team-b'), { recursive: true });
    out = [];
    await runCerts(['check', '--secrets', join(copy, 'secrets')], (app) => serviceCharts(app, TWO), {
      log: (...l) => out.push(...l),
      error: () => {},
    });
    expect(out.filter((l) => l.includes('share'))).toEqual([
      'tenants team-a and team-b share a CA (public/ca/buildkit-ca/ca.pem): run `npm run certs -- rotate --ca --tenant team-b`',
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
    expect(await runCerts(['migrate', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), io)).toBe(0);
    expect(readFileSync(join(secrets, 'tenants', 'team-a', 'ca', 'buildkit-ca.yaml'), 'utf8')).toBe(before);
    expect(readdirSync(secrets)).toEqual(['tenants']);
    expect(await runCerts(['migrate', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), io)).toBe(2);
    expect(lines.at(-2)).toMatch(/^certs: .*secrets holds no certificates from before tenants \(no ca\/\): nothing to migrate$/);
    // The tenant's namespace differs from the old one: synth names the fix, sync applies it.
    expect(() => synthRepository({ root: work, config: ONE })).toThrow(
      /^tenant team-a \(add --tenant team-a\): .*: run `npm run certs -- sync`/,
    );
    expect(await runCerts(['sync', '--tenant', 'team-a', '--secrets', secrets], (app) => serviceCharts(app, ONE), quiet)).toBe(0);
    synthRepository({ root: work, config: ONE });
    expect(readdirSync(join(work, 'dist'))).toEqual(['team-a']);
  }, 120_000);
});
