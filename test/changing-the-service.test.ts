import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { App } from 'cdk8s';
import { load, loadAll } from 'js-yaml';
import { config } from '../config';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import * as certs from '../lib/certs';
import { check } from '../lib/certs/check';
import { certsPlan } from '../lib/certs/plan';
import { type ServiceSettings, serviceCharts, tenantNames, tenantSecrets } from '../lib/tenants';
import { find } from './support/chart';
import { ROOT, readManifests, treeDigest } from './support/dist';
import { keyPool } from './support/keys';

// Away from whatever config.ts holds now, so that this is a change in any user's repository. With tenants, the
// first one moves: its namespace and address are its own; name and port stay, being every tenant's.
const tenant: string | undefined = tenantNames(config)[0];
const chartOf = (settings: ServiceSettings) => serviceCharts(new App(), settings).get(tenant)!;
const current = chartOf(config);
const away = <T>(value: T, choice: T, fallback: T) => (value === choice ? fallback : choice);
const ADDRESS: BuildkitChartProps = {
  namespace: away(current.endpoint.namespace, 'ci-builds', 'ci-builds-2'),
  loadBalancerIP: away(current.endpoint.ips[0], '10.20.0.15', '10.20.0.16'),
};
const MOVED: ServiceSettings = tenant
  ? { ...config, tenants: config.tenants!.map((t) => (t.name === tenant ? { ...t, ...ADDRESS } : t)) }
  : { ...config, ...ADDRESS, name: away(current.daemon.name, 'builder', 'builder-2'), port: away(current.endpoint.port, 2345, 2346) };
const moved = chartOf(MOVED);
const [namespace, name] = [moved.endpoint.namespace, moved.daemon.name];
/** Where the moved service's certificates live in a copy of the repository. */
const secretsOf = (copy: string) => tenantSecrets(join(copy, 'secrets'), tenant);

/** The commands of the README's "Changing the service" steps, comments and git stripped. */
function documentedSteps(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Changing the service'),
    readme.indexOf('\n## ', readme.indexOf('## Changing the service') + 1),
  );
  const block = /```bash\n([\s\S]*?)```/.exec(section)![1];
  return block
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('git '));
}

/** A copy of the repository as a user has it: its files (no secrets/ yet, as in a fresh clone), and node_modules. */
function copyRepository(): string {
  const copy = mkdtempSync(join(tmpdir(), 'buildkit-user-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !f.startsWith('secrets/'));
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(copy, file));
    } catch {
      /* deleted in the work tree, not yet committed */
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

function run(cwd: string, command: string) {
  const { CDK8S_OUTDIR: _outdir, ...env } = process.env;
  const r = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe('a user changes namespace, name, IP and port in config.ts, and follows the README', () => {
  const steps = documentedSteps();
  const copy = copyRepository();
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  test('the README documents synth, the certs command it names, and verify', () => {
    expect(steps).toEqual(['npm run synth', 'npm run certs -- sync', 'npm run verify']);
  });

  test('green after the documented steps; red, with one line naming the fix, without the certs step', async () => {
    // The quick start, in process (its command is tested in certs-cli): certificates with a throwaway age key.
    const newKeyPair = keyPool();
    for (const [t, chart] of serviceCharts(new App(), config)) {
      await certs.init({
        root: tenantSecrets(join(copy, 'secrets'), t),
        plan: certsPlan(chart),
        now: new Date(),
        log: () => {},
        newKeyPair,
      });
    }
    const configFile = join(copy, 'config.ts');
    writeFileSync(
      configFile,
      readFileSync(configFile, 'utf8').replace(
        /export const config: ServiceSettings = \{[\s\S]*?\};/,
        `export const config: ServiceSettings = ${JSON.stringify(MOVED)};`,
      ),
    );
    const outputs = () => [treeDigest(join(copy, 'dist')), treeDigest(join(copy, 'gitops/dist'))];
    const before = outputs();

    const synth = run(copy, steps[0]);
    expect(synth.status).toBe(1);
    const synthError = synth.stderr.split('\n').filter((l) => !l.startsWith('>') && l.trim());
    const file = `${relative(copy, secretsOf(copy))}/apps/namespace.yaml`;
    // A tenant's fix is typed with its --tenant.
    const sync = `npm run certs -- sync${tenant ? ` --tenant ${tenant}` : ''}`;
    const fix = `${tenant ? `tenant ${tenant}: ` : ''}${file}: creates namespace "${current.endpoint.namespace}", config.ts says "${namespace}": run \`${sync}\``;
    // How many more files disagree depends on config.ts (a clientNamespace of its own stays put).
    const more = / \(and \d+ more that the same command fixes\)$/;
    expect(synthError).toHaveLength(1);
    expect(synthError[0].replace(more, '')).toBe(`synth failed (dist/ and gitops/dist/ were left as before): ${fix}`);
    expect(outputs()).toEqual(before);

    const skipped = run(copy, 'npm run -s verify');
    expect(skipped.status).toBe(1);
    expect(skipped.stderr.split('\n')).toHaveLength(1);
    expect(skipped.stderr.replace(more, '')).toBe(fix);

    // The certificate commands name the tenant when there are tenants (README, "Tenants").
    const forTenant = (step: string) => (tenant && step.startsWith('npm run certs') ? `${step} --tenant ${tenant}` : step);
    for (const step of steps.slice(1).map(forTenant)) expect({ step, ...run(copy, step) }).toMatchObject({ step, status: 0 });

    const service = readManifests(join(copy, 'dist', tenant ?? ''));
    expect(find(service, 'Service', name).spec.ports[0].port).toBe(moved.endpoint.port);
    expect(find(service, 'Service', name).metadata).toMatchObject({
      namespace,
      annotations: { 'metallb.io/loadBalancerIPs': ADDRESS.loadBalancerIP },
    });
    const flux = loadAll(readFileSync(join(copy, 'gitops/dist/flux.k8s.yaml'), 'utf8')) as any[];
    const kind = moved.daemon.workloadKind === 'statefulset' ? 'StatefulSet' : 'Deployment';
    expect(find(flux, 'Kustomization', tenant ?? name).spec.healthChecks[0]).toEqual({ apiVersion: 'apps/v1', kind, name, namespace });
    expect((load(readFileSync(join(copy, file), 'utf8')) as any).metadata.name).toBe(namespace);
    // The certificates the steps left cover the new names, and each still chains and matches its key.
    const report = await check({ root: secretsOf(copy), plan: certsPlan(moved), now: new Date(), log: () => {} });
    expect(report.reports.flatMap((r) => r.problems)).toEqual([]);
    expect(report.reports[1].sans).toContain(`DNS:${name}.${namespace}.svc.cluster.local`);
  });
});
