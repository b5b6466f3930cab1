import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { endpointScript } from '../endpoint-chooser';
import { displayPath, writeFiles } from './files';
import type { CertsContext } from './issuing';
import { CertsUsageError } from './layout';
import type { ClientEndpoint } from './plan';
import { SecretsStore } from './secrets-store';

/** The CI secrets that hold a bundle's files, and the part of docker/setup-buildx-action's variables each fills. */
export const CI_SECRETS = [
  { file: 'ca.pem', secret: 'BUILDKIT_CA', variable: 'CACERT' },
  { file: 'cert.pem', secret: 'BUILDKIT_CERT', variable: 'CERT' },
  { file: 'key.pem', secret: 'BUILDKIT_KEY', variable: 'KEY' },
] as const;

/**
 * docker/setup-buildx-action's step for the shared daemons, as comment lines to paste: the first is its
 * `endpoint`, the others its `append`, and node N reads its bundle from BUILDER_NODE_<N>_AUTH_TLS_*.
 */
function setupBuildxStep([first, ...rest]: readonly ClientEndpoint[]): string[] {
  const node = (e: ClientEndpoint, indent: string) => [
    `${indent}endpoint: ${e.address}`,
    ...(e.platform ? [`${indent}platforms: ${e.platform}`] : []),
  ];
  const step = [
    '- uses: docker/setup-buildx-action@v3',
    '  with:',
    '    driver: remote',
    ...node(first, '    '),
    ...(rest.length ? ['    append: |', ...rest.flatMap((e) => [`      - name: ${e.name}`, ...node(e, '        ')])] : []),
    '  env:',
    ...[first, ...rest].flatMap((_, n) =>
      CI_SECRETS.map((s) => `    BUILDER_NODE_${n}_AUTH_TLS_${s.variable}: \${{ secrets.${s.secret} }}`),
    ),
  ];
  const secrets = CI_SECRETS.map((s) => `${s.file} as ${s.secret}`).join(', ');
  return [`# GitHub or Gitea Actions, with the CI secrets ${secrets}:`, ...step.map((l) => `#   ${l}`)];
}

export interface ExportResult {
  readonly dir: string;
  /** One runnable command per line. */
  readonly commands: string[];
}

/** A private key must not land where `git add -A` would pick it up. */
function checkNotCommittable(dir: string): void {
  let probe = dir;
  while (!existsSync(probe)) probe = dirname(probe);
  const top = spawnSync('git', ['-C', probe, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  if (top.status !== 0) return; // not in a git work tree
  if (spawnSync('git', ['-C', top.stdout.trim(), 'check-ignore', '-q', join(dir, 'key.pem')]).status === 0) return;
  throw new CertsUsageError(
    `--out ${displayPath(dir)} is inside the git work tree ${top.stdout.trim()} and git does not ignore it: \`git add -A\` would commit the private key; ` +
      'use a folder outside the repository, or one under client-bundles/ (git-ignored)',
  );
}

/** What export writes into --out, and the marker that says it did (so a later export may replace them). */
const EXPORT_FILES = ['ca.pem', 'cert.pem', 'key.pem', 'buildkit-endpoint'];
const EXPORT_MARKER = '.buildkit-service-export';

/**
 * --out must be a folder export may write: no comma (buildx splits --driver-opt on commas), and no files of
 * the names it writes unless an earlier export wrote them (`~/.docker` holds Docker's own ca.pem and key.pem).
 */
function checkOutDir(dir: string, force: boolean): void {
  if (dir.includes(',')) {
    throw new CertsUsageError(
      `--out ${displayPath(dir)}: a comma would split buildx's --driver-opt (cacert=...,cert=...,key=...); use a folder whose path has no comma`,
    );
  }
  const present = EXPORT_FILES.filter((f) => existsSync(join(dir, f)));
  if (present.length === 0 || force || existsSync(join(dir, EXPORT_MARKER))) return;
  throw new CertsUsageError(
    `--out ${displayPath(dir)} already holds ${present.join(', ')}, which export did not write: use an empty folder, or pass --force to replace them`,
  );
}

const quote = (s: string) => (/^[\w./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Decrypts a client bundle into dir (0700; ca.pem, cert.pem, key.pem 0600, as buildctl --tlsdir reads),
 * and returns the commands that use it: one buildx builder over the shared addresses (platform-pinned
 * daemons appended with --platform), a builder of its own per per-replica address (to pin a repository to
 * one warm cache), and buildctl per address. A tenant's builders carry its name, so one machine can hold
 * builders of several tenants.
 */
export async function exportClient(
  ctx: CertsContext,
  name: string,
  outDir: string,
  options: { force?: boolean } = {},
): Promise<ExportResult> {
  const store = new SecretsStore(ctx);
  const path = store.p.client(name);
  if (!existsSync(path))
    throw new CertsUsageError(`no client ${name} (${store.rel(path)}): issue it first with \`npm run certs -- issue-client ${name}\``);
  const data = await store.read(path, '');
  const dir = resolve(outDir);
  checkOutDir(dir, options.force ?? false);
  checkNotCommittable(dir);
  store.written(writeFiles(['ca.pem', 'cert.pem', 'key.pem'].map((f) => ({ path: join(dir, f), content: data[f], mode: 0o600 }))));
  writeFiles([{ path: join(dir, EXPORT_MARKER), content: `written by \`npm run certs -- export\`: ${EXPORT_FILES.join(', ')}\n` }]);
  chmodSync(dir, 0o700);
  const tls = `cacert=${join(dir, 'ca.pem')},cert=${join(dir, 'cert.pem')},key=${join(dir, 'key.pem')}`;
  const endpoints = ctx.plan.servers.flatMap((s) => s.endpoints);
  const shared = endpoints.filter((e) => !e.pod);
  const create = (builder: string, e: ClientEndpoint, append: boolean) =>
    [
      'docker',
      'buildx',
      'create',
      ...(append ? ['--append'] : []),
      '--name',
      builder,
      '--node',
      e.name,
      '--driver',
      'remote',
      ...(e.platform ? ['--platform', e.platform] : []),
      '--driver-opt',
      tls,
      e.address,
    ]
      .map(quote)
      .join(' ');
  const pinned = endpoints.filter((e) => e.pod);
  const builder = (suffix: string) => ['buildkit', ctx.tenant, suffix].filter(Boolean).join('-');
  const commands = [...shared.map((e, i) => create(builder('builder'), e, i > 0)), ...pinned.map((e) => create(builder(e.name), e, false))];
  // The chooser sends each repository to the replica whose cache holds it, failing over when it is down.
  const chooser = join(dir, 'buildkit-endpoint');
  // A failing chooser stops the line: `&&` rather than "tcp://$(...)", which would go on with "tcp://".
  const chosen = pinned.length > 1 ? `endpoint=$(${quote(chooser)} "$GITHUB_REPOSITORY") && ` : undefined;
  if (chosen) {
    store.written(
      writeFiles([{ path: chooser, content: endpointScript(pinned.map((e) => e.address.slice('tcp://'.length))), mode: 0o755 }]),
    );
    commands.push(`${chosen}docker buildx create --name ${builder('repo')} --driver remote --driver-opt ${quote(tls)} "tcp://$endpoint"`);
  }
  const buildctl = (addr: string) =>
    `buildctl --addr ${addr} --tlsdir ${quote(dir)} build --frontend dockerfile.v0 --local context=. --local dockerfile=.`;
  for (const e of endpoints) commands.push(buildctl(quote(e.address)));
  if (chosen) commands.push(chosen + buildctl('"tcp://$endpoint"'));
  return { dir, commands: [...commands, ...setupBuildxStep(shared)] };
}
