import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { App, type YamlOutputType } from 'cdk8s';
import { checkOneObjectPerName } from './object-identity';

/** One folder of manifests and the constructs that fill it. */
export interface SynthOutput {
  readonly outdir: string;
  readonly build: (app: App) => void;
  /** How the manifests are laid out in files. @default - a file per chart */
  readonly yamlOutputType?: YamlOutputType;
}

/**
 * Synthesizes every output into a staging folder beside it, then swaps them all in. A build that throws
 * leaves every previous folder exactly as it was, and no half-written file is ever visible there.
 */
export function synthesizeAll(outputs: readonly SynthOutput[]): void {
  // Parent folders this synth makes (gitops/ for gitops/dist): a failure removes them again, once empty.
  const madeParents: string[] = [];
  try {
    stageAndSwap(outputs, madeParents);
  } catch (err) {
    for (const made of madeParents.reverse()) removeIfEmpty(made);
    throw err;
  }
}

function stageAndSwap(outputs: readonly SynthOutput[], madeParents: string[]): void {
  const staged: Array<{ target: string; staging: string; previous: string; swapped?: boolean; hadPrevious?: boolean }> = [];
  try {
    for (const output of outputs) {
      const target = resolve(output.outdir);
      const made = mkdirSync(dirname(target), { recursive: true });
      if (made) madeParents.push(...foldersDown(made, dirname(target)));
      const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.staging-`));
      staged.push({ target, staging, previous: `${staging}.previous` });
      chmodSync(staging, 0o755); // mkdtemp makes it private; dist/ is an ordinary folder
      const app = new App({ outdir: staging, ...(output.yamlOutputType === undefined ? {} : { yamlOutputType: output.yamlOutputType }) });
      output.build(app);
      checkOneObjectPerName(app);
      app.synth();
    }
    try {
      for (const s of staged) {
        try {
          renameSync(s.target, s.previous);
          s.hadPrevious = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        renameSync(s.staging, s.target);
        s.swapped = true;
      }
    } catch (err) {
      // Put back what was swapped already, so no output is newer than another.
      for (const s of [...staged].reverse()) {
        if (s.swapped) rmSync(s.target, { recursive: true, force: true });
        if (s.hadPrevious) renameSync(s.previous, s.target);
      }
      throw err;
    }
  } finally {
    for (const s of staged) {
      rmSync(s.staging, { recursive: true, force: true });
      rmSync(s.previous, { recursive: true, force: true });
    }
  }
}

/** mkdirSync names the outermost folder it made: the folders from it down to `inner`, all new, outermost first. */
function foldersDown(outer: string, inner: string): string[] {
  const chain: string[] = [];
  for (let dir = inner; dir.length >= outer.length; dir = dirname(dir)) chain.unshift(dir);
  return chain;
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (something else was put there meanwhile), or gone: leave it
  }
}

/** One output, all or nothing (see synthesizeAll). */
export function synthesize(outdir: string, build: (app: App) => void): void {
  synthesizeAll([{ outdir, build }]);
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
