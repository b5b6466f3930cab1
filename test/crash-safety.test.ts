import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import forge from 'node-forge';
import * as certs from '../lib/certs';
import { caGeneration } from '../lib/certs/issuing';
import { paths } from '../lib/certs/layout';
import { parseIdentities } from '../lib/sops/age-keys';
import { decryptDocument } from '../lib/sops/sops-file';
import { certsContext, chartPlan } from './support/certs';
import { ROOT, treeDigest } from './support/dist';
import { keyPool } from './support/keys';

// A certs command writes several files. Killed at any rename, it must leave secrets/ holding the old set, or a
// journal that the next command completes into the new set: never a CA of one generation beside bundles of the other.
const work = mkdtempSync(join(tmpdir(), 'buildkit-crash-'));
const template = join(work, 'template');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The certificate commands' CA rotation and the forge it signs with, bundled for the children. */
const rotation = join(work, 'ca-rotation.cjs');
/** Keys for the rotations, made once here and handed to every child: RSA keygen is not what is tested. */
let childKeys: string[] = [];

beforeAll(async () => {
  const context = certsContext(template, {}, { newKeyPair: keyPool() });
  await certs.init(context);
  await certs.issueClient(context, 'laptop');
  const fresh = keyPool(4);
  childKeys = Array.from({ length: 4 }, () => forge.pki.privateKeyToPem(fresh().privateKey));
  // The children load the CA rotation from one file, transformed as Jest transforms it here: a child starts
  // faster than through a per-file TypeScript hook, and a dozen of them run.
  buildSync({
    stdin: {
      contents: "export { rotate } from './lib/certs/ca-rotation'; export { default as forge } from 'node-forge';",
      resolveDir: ROOT,
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: rotation,
    logLevel: 'error',
  });
}, 120_000);

const PLAN = chartPlan({});

/** A copy of the initialized secrets/ to crash in. */
function copy(name: string): string {
  const root = join(work, name, 'secrets');
  cpSync(template, root, { recursive: true });
  return root;
}

/** `rotate --ca` in a process of its own that kills itself at rename `at` ('count': runs through, counting them). */
async function rotateCa(root: string, at: string): Promise<{ killed: boolean; renames?: number }> {
  // The child loads only the certificate commands (no cdk8s): the plan and the keys come from this process.
  const script = `const { forge, rotate } = require(${JSON.stringify(rotation)});
    const keys = ${JSON.stringify(childKeys)}.map((pem) => { const privateKey = forge.pki.privateKeyFromPem(pem);
      return { privateKey, publicKey: forge.pki.setRsaPublicKey(privateKey.n, privateKey.e) }; });
    let next = 0;
    rotate({ root: ${JSON.stringify(root)}, plan: ${JSON.stringify(PLAN)}, now: new Date(), log: () => {}, newKeyPair: () => keys[next++ % keys.length] }, { ca: true });`;
  const preload = join(__dirname, 'support', 'kill-at-rename.cjs');
  try {
    const { stdout } = await promisify(execFile)('node', ['--require', preload, '-e', script], {
      cwd: ROOT,
      env: { ...process.env, KILL_AT_RENAME: at },
    });
    return { killed: false, renames: Number(/renames (\d+)/.exec(stdout)?.[1]) };
  } catch (err) {
    if ((err as { signal?: string }).signal !== 'SIGKILL') throw err;
    return { killed: true };
  }
}

/** The files of secrets/ by digest, without the temporaries a killed run leaves (git-ignored, removed by the next write). */
const files = (root: string) => Object.fromEntries(Object.entries(treeDigest(root)).filter(([f]) => !f.endsWith('.buildkit-tmp')));

async function generation(root: string, file: string): Promise<number> {
  const identities = parseIdentities(readFileSync(paths(root).ageKey, 'utf8'));
  const { stringData } = (await decryptDocument(readFileSync(file, 'utf8'), identities)) as { stringData: Record<string, string> };
  return caGeneration(stringData['ca.pem']);
}

test('killed at every rename of a CA rotation, secrets/ ends whole: the old set, or the new one the next command completes', async () => {
  const { renames } = await rotateCa(copy('count'), 'count');
  // The journal, then the CA, the daemon's and the in-cluster bundles and their public copies.
  expect(renames).toBeGreaterThan(8);
  const old = files(template);
  const runs = await Promise.all(
    Array.from({ length: renames! }, async (_, i) => {
      const root = copy(`kill-${i + 1}`);
      const { killed } = await rotateCa(root, String(i + 1));
      const journal = existsSync(paths(root).journal);
      const untouched = JSON.stringify(files(root)) === JSON.stringify(old);
      const lines: string[] = [];
      const { ok } = await certs.check(certsContext(root, {}, { log: (l) => lines.push(l) }));
      const said = lines.some((l) => l.startsWith('completed a write a killed command left half done (the new set): '))
        ? 'new set'
        : lines.includes('a command was killed before its write began: secrets/ holds the old set (its temporaries go with the next write)')
          ? 'old set'
          : 'nothing';
      const generations = [await generation(root, paths(root).ca), await generation(root, paths(root).server('buildkit-daemon-certs'))];
      return {
        at: i + 1,
        killed,
        state: journal ? 'journal' : untouched ? 'old' : 'mixed',
        ok,
        said,
        generations,
        left: existsSync(paths(root).journal),
      };
    }),
  );
  for (const run of runs) {
    // Before the journal is in place, nothing changed; after, check completes the write and says so.
    const expected = run.state === 'journal' ? { said: 'new set', generations: [2, 2] } : { said: 'old set', generations: [1, 1] };
    expect(run).toEqual({ at: run.at, killed: true, state: run.at === 1 ? 'old' : 'journal', ok: true, left: false, ...expected });
  }
});

test('synth and verify refuse a secrets/ with an unfinished write, naming the command that completes it', async () => {
  const root = copy('synth');
  expect((await rotateCa(root, '3')).killed).toBe(true);
  expect(certs.secretsProblems(root, PLAN)).toEqual([
    `${paths(root).journal}: a certs command was killed mid-write: run \`npm run certs -- check\`, which completes the write`,
  ]);
});
