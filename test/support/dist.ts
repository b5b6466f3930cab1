import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { readTree } from '../../lib/repository';

export const ROOT = join(__dirname, '..', '..');

export { readTree };

/**
 * Each file under dir with the SHA-256 of its bytes: what tests compare folders by. Jest compares Buffers
 * element by element, which takes tens of milliseconds per file; a digest differs exactly when the bytes do.
 */
export function treeDigest(dir: string): Record<string, string> {
  return Object.fromEntries([...readTree(dir)].map(([file, bytes]) => [file, createHash('sha256').update(bytes).digest('hex')]));
}

/** The manifests in every YAML file under dir. */
export function readManifests(dir: string): any[] {
  return [...readTree(dir)]
    .filter(([f]) => f.endsWith('.yaml'))
    .flatMap(([, b]) => loadAll(b.toString()) as any[])
    .filter(Boolean);
}

/** The examples: other compositions, each synthesized by its own entry point into its committed dist/. */
export const EXAMPLES = [
  { entry: 'examples/ha/main.ts', dist: 'examples/ha/dist' },
  { entry: 'examples/arm64-builder/main.ts', dist: 'examples/arm64-builder/dist' },
  { entry: 'examples/hardened/main.ts', dist: 'examples/hardened/dist' },
];

/** Every synthesized folder the repository commits: `npm run synth`'s two, and each example's. */
export const OUTPUTS = ['dist', 'gitops/dist', ...EXAMPLES.map((e) => e.dist)];

/** Objects of custom resource definitions (Flux, Argo CD, Prometheus Operator) rather than Kubernetes' own API. */
export function isCustomResource(m: any): boolean {
  const group = String(m.apiVersion).includes('/') ? String(m.apiVersion).split('/')[0] : '';
  // Kubernetes' own groups end in .k8s.io; SIG projects' CRDs live under x-k8s.io.
  return group.includes('.') && !/(^|\.)k8s\.io$/.test(group);
}

/** Runs an example's entry point in this process, as `npm run synth:examples` does, writing to outdir. */
export function synthExample(outdir: string, entry: string): void {
  process.env.CDK8S_OUTDIR = outdir;
  try {
    jest.isolateModules(() => require(join(ROOT, entry)));
  } finally {
    delete process.env.CDK8S_OUTDIR;
  }
  if (process.exitCode) throw new Error(`${entry} failed to synthesize (exit code ${process.exitCode})`);
}
