import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { App, YamlOutputType } from 'cdk8s';
import type { BuildkitChart } from './buildkit-chart';
import { secretsProblems } from './certs/coherence';
import { daemonCertsRevision, paths } from './certs/layout';
import { hasSingleLayout } from './certs/migrate';
import { certsPlan } from './certs/plan';
import { buildGitops, type GitopsSettings } from './gitops';
import { serviceDiagram, withDiagram } from './service-diagram';
import { type SynthOutput, synthesizeAll } from './synth';
import { certsCommand, forTenant, type ServiceSettings, serviceCharts, tenantNames, tenantSecrets, tenantsFolder } from './tenants';

/** A repository that holds this project: config.ts, and the folders derived from it. */
export interface RepositorySettings {
  /** The repository's root folder. */
  readonly root: string;
  /** The service (config.ts `config`), with or without tenants. */
  readonly config: ServiceSettings;
  /**
   * Delivery (config.ts `gitops`).
   * @default - Flux on the flux-system GitRepository; Argo CD with an example URL
   */
  readonly gitops?: GitopsSettings;
  /**
   * The secrets/ folder.
   * @default - secrets under root
   */
  readonly secrets?: string;
}

/** The secrets/ folder the settings name: their own, or the one under the root. */
const secretsOf = (settings: RepositorySettings) => settings.secrets ?? join(resolve(settings.root), 'secrets');

/** The outputs `npm run synth` writes, relative to the root. */
export const OUTPUT_DIRS = { manifests: 'dist', gitops: join('gitops', 'dist') } as const;

/**
 * Every output derived from config.ts, all or nothing: dist/ (the service's manifests) and gitops/dist/
 * (Flux and Argo CD objects). With `manifestsDir`, only the manifests, into that folder (`cdk8s synth -o`).
 * Refuses, before writing anything, a secrets/ folder that disagrees with config.ts.
 */
export function synthRepository(settings: RepositorySettings, manifestsDir?: string): string[] {
  const root = resolve(settings.root);
  const secrets = secretsOf(settings);
  const models = serviceCharts(new App(), settings.config);
  if (!models.has(undefined) && hasSingleLayout(secrets)) {
    throw new Error(
      `${relative(root, secrets) || secrets}/ holds the certificates from before tenants (one CA in ca/): move them to the tenant they serve with \`npm run certs -- migrate --tenant NAME\``,
    );
  }
  // Each tenant's certificates live in a secrets/ folder of their own, checked against its chart.
  const revisions = new Map<string | undefined, string | undefined>();
  for (const [tenant, model] of models) {
    const folder = tenantSecrets(secrets, tenant);
    const problems = secretsProblems(folder, certsPlan(model)).map((p) => (tenant ? `tenant ${tenant}: ${forTenant(p, tenant)}` : p));
    if (problems.length > 0) {
      throw new Error(problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more that the same command fixes)` : ''));
    }
    revisions.set(tenant, daemonCertsRevision(folder, model.daemon.tls.secretName));
  }
  const manifests: SynthOutput = {
    outdir: manifestsDir ?? join(root, OUTPUT_DIRS.manifests),
    // With tenants, a folder each (dist/<tenant>/), so that each can be applied on its own.
    yamlOutputType: models.has(undefined) ? undefined : YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE,
    build: (app) => serviceCharts(app, settings.config, revisions),
  };
  const outputs = manifestsDir
    ? [manifests]
    : [manifests, { outdir: join(root, OUTPUT_DIRS.gitops), build: (app: App) => buildGitops(app, models, settings.gitops) }];
  // The README's picture of the service, staged beside it and renamed in right after the folders swap.
  const readme = join(root, 'README.md');
  const before = !manifestsDir && existsSync(readme) ? readFileSync(readme, 'utf8') : undefined;
  const after = before === undefined ? undefined : withDiagram(before, repositoryDiagram(models));
  const staged = after !== before ? `${readme}.${process.pid}.staging` : undefined;
  if (staged) writeFileSync(staged, after!);
  try {
    synthesizeAll(outputs);
  } catch (err) {
    if (staged) rmSync(staged, { force: true });
    throw err;
  }
  if (staged) renameSync(staged, readme);
  return [...outputs.map((o) => relative(root, resolve(o.outdir))), ...(staged ? ['README.md'] : [])];
}

/** The README's picture of the service: the only chart, or with tenants the whole app (every tenant's chart). */
export function repositoryDiagram(models: ReadonlyMap<string | undefined, BuildkitChart>): string {
  return serviceDiagram(models.get(undefined) ?? models.values().next().value!.node.root);
}

/**
 * What a certificate command re-synthesizes after changing a daemon Secret (certs.ts): the outputs, when it ran
 * on this repository's own secrets/. For any other folder none: the outputs are made from secrets/ alone, and
 * the next synth would undo them.
 */
export function certsResynth(settings: Omit<RepositorySettings, 'secrets'>): (secrets: string) => string[] {
  const own = secretsOf(settings);
  return (secrets) => (resolve(secrets) === own ? synthRepository({ ...settings, secrets }) : []);
}

/**
 * `npm run synth` and `cdk8s synth`: every output, or with CDK8S_OUTDIR (which `cdk8s synth -o DIR` sets)
 * only the manifests into that folder. On failure one line, a non-zero exit code, and nothing written.
 */
export function runRepositorySynth(settings: RepositorySettings): void {
  const manifestsDir = process.env.CDK8S_OUTDIR || undefined;
  try {
    synthRepository(settings, manifestsDir);
  } catch (err) {
    const kept = manifestsDir ? `${manifestsDir} was` : `${OUTPUT_DIRS.manifests}/ and ${OUTPUT_DIRS.gitops}/ were`;
    console.error(`synth failed (${kept} left as before): ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

/**
 * secrets/ against config.ts's tenants, where the synth cannot tell: a tenant without certificates while another
 * has its own (added after `certs init`: its daemons would wait for a Secret no one made), and a folder of a
 * tenant config.ts no longer has. A repository with no certificates at all is new, and its tenants wait alike.
 */
function tenantFolderProblems(root: string, secrets: string, config: ServiceSettings): string[] {
  const names = tenantNames(config);
  const tenantsDir = tenantsFolder(secrets);
  const folders = existsSync(tenantsDir) ? readdirSync(tenantsDir) : [];
  const at = (tenant: string) => `${relative(root, tenantSecrets(secrets, tenant))}/`;
  const initialised = names.filter((tenant) => existsSync(paths(tenantSecrets(secrets, tenant)).ca));
  const waiting = initialised.length === 0 ? [] : names.filter((tenant) => !initialised.includes(tenant));
  return [
    ...waiting.map(
      (tenant) =>
        `${at(tenant)}: tenant ${tenant} has no certificates, while other tenants have theirs: run \`${certsCommand('init', tenant)}\`, then commit secrets/ and the outputs`,
    ),
    ...folders
      .filter((folder) => !names.includes(folder))
      .map(
        (folder) =>
          `${at(folder)}: config.ts has no tenant ${folder}: if it is gone, remove its certificates with \`git rm -r ${at(folder)}\``,
      ),
  ];
}

/** Every file under dir (none when it does not exist), by path relative to it, sorted, with its bytes. */
export function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const entry of existsSync(d) ? readdirSync(d).sort() : []) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

/**
 * The committed outputs against config.ts, as CI checks them (no key needed): secrets/ coherent with the
 * settings, and every output byte for byte what a fresh synth writes. One line per problem, with its fix.
 */
export function outputProblems(settings: RepositorySettings): string[] {
  const root = resolve(settings.root);
  const secrets = secretsOf(settings);
  const fresh = mkdtempSync(join(tmpdir(), 'buildkit-fresh-'));
  try {
    // The committed README goes through the same synth, so its diagram is compared like any output.
    const readme = join(root, 'README.md');
    if (existsSync(readme)) copyFileSync(readme, join(fresh, 'README.md'));
    try {
      synthRepository({ ...settings, root: fresh, secrets });
    } catch (err) {
      return [(err as Error).message];
    }
    const problems = tenantFolderProblems(root, secrets, settings.config);
    if (existsSync(readme) && !readFileSync(join(fresh, 'README.md')).equals(readFileSync(readme))) {
      problems.push('README.md: the service diagram is stale: run `npm run synth` and commit README.md');
    }
    for (const dir of Object.values(OUTPUT_DIRS)) {
      const want = readTree(join(fresh, dir));
      const have = readTree(join(root, dir));
      for (const file of new Set([...want.keys(), ...have.keys()])) {
        const state = !have.has(file)
          ? 'is missing'
          : !want.has(file)
            ? 'is left from an earlier synth'
            : want.get(file)!.equals(have.get(file)!)
              ? ''
              : 'is stale';
        if (state) problems.push(`${join(dir, file)} ${state}: run \`npm run synth\` and commit ${dir}/`);
      }
    }
    return problems;
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}
