import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/dist';

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]{40,}-----END/;
const AGE_IDENTITY = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{50,}/;
// Public test keys of getsops/sops and fluxcd, kept as fixtures so the SOPS code is tested against real files.
const PUBLIC_FIXTURES = /^test\/fixtures\/sops\/[\w.-]+\.txt$/;

function leaks(text: string): string[] {
  return [PEM_PRIVATE_KEY.test(text) && 'a PEM private key', AGE_IDENTITY.test(text) && 'an age identity'].filter(Boolean) as string[];
}

/** What `git add -A` would commit: tracked files (deleted ones too) and untracked ones not ignored. */
function filesGitWouldCommit(root: string): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  return [...new Set(listed.split('\0').filter(Boolean))];
}

/** A file's text in the working tree, or as the index holds it when deleted there (not yet committed). */
function contentOf(root: string, file: string): string {
  const path = join(root, file);
  if (existsSync(path)) return readFileSync(path, 'latin1');
  return execFileSync('git', ['show', `:${file}`], { cwd: root, encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('nothing secret in git', () => {
  test('no file git tracks or would add holds a plaintext private key or age identity', () => {
    // Mid-change too: a synth after a config.ts edit adds files (dist/<tenant>/) and deletes tracked ones.
    const files = filesGitWouldCommit(ROOT);
    expect(files.length).toBeGreaterThan(20);
    const found = files
      .filter((f) => !PUBLIC_FIXTURES.test(f))
      .map((f) => ({ file: f, leaks: leaks(contentOf(ROOT, f)) }))
      .filter((r) => r.leaks.length > 0);
    expect(found).toEqual([]);
  });

  test('mid-change: a new file is read, and a tracked one deleted from the working tree as git holds it', () => {
    const repo = mkdtempSync(join(tmpdir(), 'buildkit-git-'));
    try {
      const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
      git('init', '-q');
      writeFileSync(join(repo, 'kept.txt'), 'committed text\n');
      writeFileSync(join(repo, '.gitignore'), 'ignored.txt\n');
      git('add', '-A');
      rmSync(join(repo, 'kept.txt'));
      writeFileSync(join(repo, 'new.txt'), 'new text\n');
      writeFileSync(join(repo, 'ignored.txt'), 'never committed\n');
      expect(filesGitWouldCommit(repo).sort()).toEqual(['.gitignore', 'kept.txt', 'new.txt']);
      expect(contentOf(repo, 'kept.txt')).toBe('committed text\n');
      expect(contentOf(repo, 'new.txt')).toBe('new text\n');
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  test('the scanner finds what it looks for', () => {
    const fixtureKey = readFileSync(join(ROOT, 'test/fixtures/sops/keys.txt'), 'utf8');
    expect(leaks(fixtureKey)).toEqual(['an age identity']);
    const { generateKeyPairSync } = require('node:crypto');
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(leaks(`x\n${privateKey}`)).toEqual(['a PEM private key']);
  });

  test('.gitignore keeps age identities and exported bundles out', () => {
    const ignored = (path: string) => {
      try {
        execFileSync('git', ['check-ignore', '-q', path], { cwd: ROOT });
        return true;
      } catch {
        return false;
      }
    };
    expect(ignored('secrets/age/age-key.txt')).toBe(true);
    expect(ignored('secrets/tenants/team-a/age/age-key.txt')).toBe(true);
    expect(ignored('secrets/tenants/team-a/.buildkit-journal')).toBe(true);
    expect(ignored('secrets/tenants/team-a/apps/buildkit-daemon-certs.yaml')).toBe(false);
    expect(ignored('client-bundles/laptop/key.pem')).toBe(true);
    expect(ignored('secrets/apps/buildkit-daemon-certs.yaml')).toBe(false);
  });
});
