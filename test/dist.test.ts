import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { config, gitops } from '../config';
import { OUTPUT_DIRS, outputProblems, synthRepository } from '../lib/repository';
import { tenantNames } from '../lib/tenants';
import { EXAMPLES, OUTPUTS, ROOT, readManifests, readTree, synthExample, treeDigest } from './support/dist';

// GitOps gates: what Flux applies is exactly what config.ts says, byte for byte, and holds no secret.
describe('the committed outputs', () => {
  test('agree with config.ts and with secrets/: `npm run verify` finds nothing to fix', () => {
    expect(outputProblems({ root: ROOT, config, gitops })).toEqual([]);
  });

  test('`npm run synth` writes dist/ and gitops/dist/, byte-identical each time', () => {
    const work = mkdtempSync(join(tmpdir(), 'buildkit-twice-'));
    try {
      const settings = { config, gitops, secrets: join(ROOT, 'secrets') };
      expect(synthRepository({ ...settings, root: join(work, 'a') })).toEqual([OUTPUT_DIRS.manifests, OUTPUT_DIRS.gitops]);
      synthRepository({ ...settings, root: join(work, 'b') });
      expect(treeDigest(join(work, 'a'))).toEqual(treeDigest(join(work, 'b')));
      const written = [...readTree(join(work, 'a')).keys()];
      expect(written.filter((f) => f.startsWith('gitops/'))).toEqual([
        'gitops/dist/argocd.k8s.yaml',
        'gitops/dist/flux-bootstrap.k8s.yaml',
        'gitops/dist/flux.k8s.yaml',
      ]);
      // One file for the only chart; with tenants a folder each, a file per object, and nothing else.
      const manifests = written.filter((f) => !f.startsWith('gitops/'));
      const tenants = tenantNames(config);
      if (tenants.length === 0) expect(manifests).toEqual(['dist/buildkit.k8s.yaml']);
      else expect([...new Set(manifests.map((f) => /^dist\/([^/]+)\/[^/]+\.k8s\.yaml$/.exec(f)?.[1]))].sort()).toEqual([...tenants].sort());
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test.each(OUTPUTS)('%s/ holds no Secret and no key material', (dist) => {
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

describe.each(EXAMPLES)('$dist/', ({ entry, dist }) => {
  test('is up to date, and synthesizing twice gives byte-identical output', () => {
    const work = mkdtempSync(join(tmpdir(), 'buildkit-example-'));
    try {
      synthExample(join(work, 'a'), entry);
      synthExample(join(work, 'b'), entry);
      expect(treeDigest(join(work, 'a'))).toEqual(treeDigest(join(work, 'b')));
      const fresh = readTree(join(work, 'a'));
      const committed = readTree(join(ROOT, dist));
      expect([...committed.keys()]).toEqual([...fresh.keys()]);
      for (const [file, bytes] of fresh) expect({ file, same: bytes.equals(committed.get(file)!) }).toEqual({ file, same: true });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

test('`cdk8s synth -o DIR` (what the cdk8s CLI and GitOps hooks run) writes only the manifests, the committed dist/', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-cli-'));
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['synth', '-o', join(work, 'cli')], {
      cwd: ROOT,
      env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
      stdio: 'pipe',
    });
    expect(treeDigest(join(work, 'cli'))).toEqual(treeDigest(join(ROOT, 'dist')));
    expect(readTree(work).size).toBe(readTree(join(work, 'cli')).size);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
