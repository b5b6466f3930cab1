import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as certs from '../lib/certs';
import { paths } from '../lib/certs/layout';
import { synthRepository } from '../lib/repository';
import { certsContext } from './support/certs';
import { treeDigest } from './support/dist';
import { keyPool } from './support/keys';

// secrets/ is read, written and pruned by the commands and read by synth: a symbolic link there could lead them
// to a folder outside the repository. Every one is refused, naming the link; the command only deletes its own files.
const newKeyPair = keyPool();
let work: string;
let root: string;
let outside: string;
const context = (settings = {}) => certsContext(root, settings, { newKeyPair });
const refusal = (link: string) =>
  new Error(
    `${link} is a symbolic link: nothing under secrets/ may be one (it could lead outside the repository); replace it with the file or folder itself`,
  );

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'buildkit-links-'));
  root = join(work, 'repo', 'secrets');
  outside = join(work, 'elsewhere');
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious.txt'), 'not yours');
  writeFileSync(join(outside, 'ca.pem'), "someone else's CA");
  await certs.init(context());
  await certs.issueClient(context(), 'laptop');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

test('a public copy folder linked (relative) to a folder outside: issue-client --renew refuses, and the folder is untouched', async () => {
  const link = join(root, 'public', 'clients', 'laptop');
  rmSync(link, { recursive: true });
  symlinkSync(relative(join(root, 'public', 'clients'), outside), link);
  const before = { secrets: treeDigest(root), outside: treeDigest(outside) };
  await expect(certs.issueClient(context(), 'laptop', { renew: true })).rejects.toThrow(refusal(link));
  expect({ secrets: treeDigest(root), outside: treeDigest(outside) }).toEqual(before);
});

test('an absolute link: sync, check, rotate, revoke and export refuse it alike', async () => {
  const link = join(root, 'public', 'apps', 'buildkit-daemon-certs');
  rmSync(link, { recursive: true });
  symlinkSync(outside, link);
  const before = treeDigest(outside);
  await expect(certs.sync(context())).rejects.toThrow(refusal(link));
  await expect(certs.check(context())).rejects.toThrow(refusal(link));
  await expect(certs.rotate(context())).rejects.toThrow(refusal(link));
  await expect(certs.revoke(context(), 'laptop')).rejects.toThrow(refusal(link));
  await expect(certs.exportClient(context(), 'laptop', join(work, 'bundle'))).rejects.toThrow(refusal(link));
  expect(treeDigest(outside)).toEqual(before);
  expect(existsSync(join(work, 'bundle'))).toBe(false);
});

test('synth refuses a linked file in secrets/apps without reading it, and writes nothing', () => {
  writeFileSync(join(outside, 'token'), 'SECRET-TOKEN-VALUE');
  const link = join(root, 'apps', 'team.yaml');
  symlinkSync(join(outside, 'token'), link);
  const repo = join(work, 'repo');
  let message = '';
  try {
    synthRepository({ root: repo, config: {}, secrets: root });
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toBe(refusal(link).message);
  expect(existsSync(join(repo, 'dist'))).toBe(false);
});

test('--secrets given as a link to the real folder is refused too', async () => {
  const link = join(work, 'secrets-link');
  symlinkSync(root, link);
  await expect(certs.check(certsContext(link, {}, { newKeyPair }))).rejects.toThrow(refusal(link));
});

test('the commands delete only the copies they write: a README beside them stays, and its folder with it', async () => {
  const dir = join(root, 'public', 'clients', 'laptop');
  writeFileSync(join(dir, 'README.md'), 'the laptop of the build team');
  await certs.rotate(context(), { ca: true });
  await certs.issueClient(context(), 'laptop', { renew: true });
  await certs.rotate(context(), { finishCa: true }); // drops every previous-ca.pem
  expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('the laptop of the build team');
  await certs.revoke(context(), 'laptop'); // removes the client: its copies go, the README stays
  expect(existsSync(join(dir, 'ca.pem'))).toBe(false);
  expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('the laptop of the build team');
  await certs.rotate(context(), { finishCa: true });
  await certs.issueClient(context(), 'phone');
  await certs.revoke(context(), 'phone');
  expect(existsSync(paths(root).publicOf(paths(root).client('phone')))).toBe(false);
});
