import { chmodSync, mkdtempSync, renameSync, rmSync } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { App } from 'cdk8s';

/**
 * Synthesizes into a staging folder beside `outdir`, then swaps it in. A build that throws leaves the
 * previous `outdir` exactly as it was, and no half-written file is ever visible there.
 */
export function synthesize(outdir: string, build: (app: App) => void): void {
  const target = resolve(outdir);
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.staging-`));
  const previous = `${staging}.previous`;
  try {
    chmodSync(staging, 0o755); // mkdtemp makes it private; dist/ is an ordinary folder
    const app = new App({ outdir: staging });
    build(app);
    app.synth();
    let hadPrevious = true;
    try {
      renameSync(target, previous);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      hadPrevious = false;
    }
    try {
      renameSync(staging, target);
    } catch (err) {
      if (hadPrevious) renameSync(previous, target);
      throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(previous, { recursive: true, force: true });
  }
}

/**
 * The entry point of a synth command: synthesizes into `outdir` (or CDK8S_OUTDIR, which `cdk8s synth` sets),
 * and on failure prints one line and sets a non-zero exit code, leaving the previous output in place.
 */
export function runSynth(outdir: string, build: (app: App) => void): void {
  const target = process.env.CDK8S_OUTDIR ?? outdir;
  try {
    synthesize(target, build);
  } catch (err) {
    console.error(`synth failed (${target} left as it was): ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
