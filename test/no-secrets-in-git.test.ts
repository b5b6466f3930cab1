import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/dist';

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]{40,}-----END/;
const AGE_IDENTITY = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{50,}/;
// Public test keys of getsops/sops and fluxcd, kept as fixtures so the SOPS code is tested against real files.
const PUBLIC_FIXTURES = /^test\/fixtures\/sops\/[\w.-]+\.txt$/;

function leaks(text: string): string[] {
  return [PEM_PRIVATE_KEY.test(text) && 'a PEM private key', AGE_IDENTITY.test(text) && 'an age identity'].filter(Boolean) as string[];
}

describe('nothing secret in git', () => {
  test('no tracked file holds a plaintext private key or age identity', () => {
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    expect(tracked.length).toBeGreaterThan(20);
    const found = tracked
      .filter((f) => !PUBLIC_FIXTURES.test(f))
      .map((f) => ({ file: f, leaks: leaks(readFileSync(join(ROOT, f), 'latin1')) }))
      .filter((r) => r.leaks.length > 0);
    expect(found).toEqual([]);
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
