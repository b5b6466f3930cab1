import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFiles } from '../lib/certs/files';
import { ROOT } from './support/dist';

// A key file's write killed midway, seen through git: apart from test/key-files.test.ts because it runs a
// process and git (mutation testing leaves such tests out; see jest.mutation.config.js).
const KEY = 'secret key material, not to be planted on\n';
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'buildkit-files-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

test('killed between staging and rename: no plaintext key outside git-ignored paths, and the next run removes it', () => {
  // A repository with this project's .gitignore, and a certs command that dies mid-write.
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'secrets', 'clients'), { recursive: true });
  cpSync(join(ROOT, '.gitignore'), join(repo, '.gitignore'));
  execFileSync('git', ['init', '-q'], { cwd: repo });
  const target = join(repo, 'secrets', 'clients', 'bundle.pem');
  const script = `require(${JSON.stringify(join(ROOT, 'lib/certs/files'))}).writeFiles([{ path: ${JSON.stringify(target)}, content: ${JSON.stringify(KEY)}, mode: 0o600 }],
    { afterStaging: () => process.kill(process.pid, 'SIGKILL') });`;
  const crashed = spawnSync('node', ['--require', './scripts/strip-types.js', '-e', script], { cwd: ROOT });
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
