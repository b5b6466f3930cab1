import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFiles } from '../lib/certs/files';
import { ROOT } from './support/dist';

// Stands for a private key: what matters is where these bytes land (no key-shaped text in git).
const KEY = 'secret key material, not to be planted on\n';
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'buildkit-files-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

test('a file or link planted at a temporary name never receives the key', () => {
  const dir = join(work, 'age');
  mkdirSync(dir, { mode: 0o700 });
  const target = join(dir, 'age-key.txt');
  const names = [join(dir, 'planted-file'), join(dir, 'planted-link'), join(dir, 'free')];
  writeFileSync(names[0], 'planted\n', { mode: 0o666 });
  chmodSync(names[0], 0o666);
  const bait = join(work, 'bait');
  writeFileSync(bait, 'bait\n');
  symlinkSync(bait, names[1]);
  let next = 0;
  expect(writeFiles([{ path: target, content: KEY, mode: 0o600 }], { temporaryName: () => names[next++] })).toEqual([target]);
  expect(next).toBe(3);
  expect(readFileSync(names[0], 'utf8')).toBe('planted\n');
  expect(statSync(names[0]).mode & 0o777).toBe(0o666);
  expect(readFileSync(bait, 'utf8')).toBe('bait\n');
  expect(readFileSync(target, 'utf8')).toBe(KEY);
  expect(statSync(target).mode & 0o777).toBe(0o600);
});

test('the mode is enforced on every write, even when the content is unchanged', () => {
  const target = join(work, 'key.pem');
  writeFiles([{ path: target, content: KEY, mode: 0o600 }]);
  chmodSync(target, 0o644);
  expect(writeFiles([{ path: target, content: KEY, mode: 0o600 }])).toEqual([]);
  expect(statSync(target).mode & 0o777).toBe(0o600);
});

test('a folder other users can write to is refused, and nothing is written', () => {
  const dir = join(work, 'shared');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  expect(() => writeFiles([{ path: join(dir, 'key.pem'), content: KEY, mode: 0o600 }])).toThrow(
    /shared is writable by other users \(mode 777\): one of them could plant a file or link where a key goes; run chmod go-w /,
  );
  expect(existsSync(join(dir, 'key.pem'))).toBe(false);
});

test('killed between staging and rename: no plaintext key outside git-ignored paths, and the next run removes it', () => {
  // A repository with this project's .gitignore, and a certs command that dies mid-write.
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'secrets', 'clients'), { recursive: true });
  cpSync(join(ROOT, '.gitignore'), join(repo, '.gitignore'));
  execFileSync('git', ['init', '-q'], { cwd: repo });
  const target = join(repo, 'secrets', 'clients', 'bundle.pem');
  const script = `require(${JSON.stringify(join(ROOT, 'lib/certs/files'))}).writeFiles([{ path: ${JSON.stringify(target)}, content: ${JSON.stringify(KEY)}, mode: 0o600 }],
    { afterStaging: () => process.kill(process.pid, 'SIGKILL') });`;
  const crashed = spawnSync('node', ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT });
  expect(crashed.signal).toBe('SIGKILL');
  expect(existsSync(target)).toBe(false);
  const untracked = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  expect(untracked).toEqual(['?? .gitignore']);
  const ignored = execFileSync('git', ['status', '--porcelain', '--ignored', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' });
  expect(ignored).toMatch(/^!! secrets\/clients\/\.bundle\.pem\.[0-9a-f]{16}\.buildkit-tmp$/m);

  writeFiles([{ path: target, content: KEY, mode: 0o600 }]);
  expect(
    execFileSync('git', ['status', '--porcelain', '--ignored', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' }),
  ).not.toContain('buildkit-tmp');
});
