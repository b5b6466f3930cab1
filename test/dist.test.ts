import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { OUTPUTS, readManifests, readTree, ROOT, synthTo } from './support/dist';

// GitOps gates: what Flux applies is exactly what the code says, byte for byte, and holds no secret.
describe.each(OUTPUTS)('$dist/', ({ entry, dist }) => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-dist-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('is up to date: a fresh synth matches the committed files, none added or missing', () => {
    synthTo(join(work, 'fresh'), entry);
    const fresh = readTree(join(work, 'fresh'));
    const committed = readTree(join(ROOT, dist));
    expect([...committed.keys()]).toEqual([...fresh.keys()]);
    for (const [file, bytes] of fresh) {
      expect({ file, same: bytes.equals(committed.get(file)!) }).toEqual({ file, same: true });
    }
  });

  test('synthesizing twice gives byte-identical output', () => {
    synthTo(join(work, 'a'), entry);
    synthTo(join(work, 'b'), entry);
    expect(readTree(join(work, 'a'))).toEqual(readTree(join(work, 'b')));
  });

  test('holds no Secret and no key material', () => {
    const manifests = readManifests(join(ROOT, dist));
    expect(manifests.length).toBeGreaterThan(0);
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    for (const [file, bytes] of readTree(join(ROOT, dist))) {
      const text = bytes.toString();
      expect({ file, privateKey: /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) }).toEqual({ file, privateKey: false });
      expect({ file, certificate: text.includes('-----BEGIN CERTIFICATE-----') }).toEqual({ file, certificate: false });
      expect({ file, ageIdentity: text.includes('AGE-SECRET-KEY-') }).toEqual({ file, ageIdentity: false });
    }
  });
});

test('`cdk8s synth` (what the GitOps hook and the cdk8s CLI run) writes the committed dist/', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-cli-'));
  try {
    execFileSync('npx', ['--no-install', 'cdk8s', 'synth', '-o', join(work, 'cli')], {
      cwd: ROOT, env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' }, stdio: 'pipe',
    });
    expect(readTree(join(work, 'cli'))).toEqual(readTree(join(ROOT, 'dist')));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 30_000);
