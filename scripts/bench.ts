import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Speed, measured rather than asserted: runs each way of synthesizing the same chart RUNS times into a
 * temporary folder, and the whole test suite (`npm test`, the README's command) SUITE_RUNS times without
 * caches and SUITE_RUNS times with them, and prints median, min and max wall time. Usage: npm run bench [-- RUNS [SUITE_RUNS]] (defaults 7 and 3; 0 skips the suite)
 */
const count = (arg: string | undefined, fallback: number, least: number) => {
  const n = Number(arg ?? fallback);
  if (!Number.isInteger(n) || n < least) throw new Error(`runs ${arg}: use a whole number, at least ${least}`);
  return n;
};
const runs = count(process.argv[2], 7, 1);
const suiteRuns = count(process.argv[3], 3, 0);
const root = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'buildkit-bench-'));

const ways: Array<{ name: string; command: string[] }> = [
  { name: 'npm run synth (README)', command: ['npm', 'run', '-s', 'synth'] },
  { name: 'node --require strip-types main.ts', command: ['node', '--require', './scripts/strip-types.js', 'main.ts'] },
  { name: 'node --require tsx/cjs main.ts', command: ['node', '--require', 'tsx/cjs', 'main.ts'] },
  { name: 'cdk8s synth', command: ['npx', '--no-install', 'cdk8s', 'synth', '-o', join(work, 'cli')] },
  { name: 'ts-node main.ts (cdk8s template)', command: [join(root, 'tools/node_modules/.bin/ts-node'), 'main.ts'] },
];

function time(command: string[], env: NodeJS.ProcessEnv = { CDK8S_OUTDIR: join(work, 'out') }): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command[0], command.slice(1), {
    cwd: root,
    stdio: 'pipe',
    env: { ...process.env, ...env, CDK8S_CHECK_UPGRADE: 'false' },
  });
  if (result.status !== 0) {
    // The whole output outlives the bench's folder: a failure under load is worth reading in full.
    const log = join(tmpdir(), `buildkit-bench-failure-${process.pid}.log`);
    writeFileSync(log, Buffer.concat([result.stdout, result.stderr]));
    const lines = result.stderr.toString().trim().split('\n');
    const failures = [...new Set(lines.filter((l) => l.includes('●')))].slice(0, 5);
    throw new Error(`${command.join(' ')} failed (all its output: ${log}): ${(failures.length ? failures : lines.slice(-1)).join('\n')}`);
  }
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  const results = ways.map((way) => {
    time(way.command); // warm the file cache and the transform caches; not counted
    const samples = Array.from({ length: runs }, () => time(way.command));
    return { ...way, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
  });
  const baseline = results[0].median;
  console.log(`synth wall time over ${runs} runs (ms), after one warm-up run each`);
  console.log(['way'.padEnd(38), 'median', '   min', '   max', '  vs README'].join('  '));
  for (const r of results) {
    console.log(
      [
        r.name.padEnd(38),
        r.median.toFixed(0).padStart(6),
        r.min.toFixed(0).padStart(6),
        r.max.toFixed(0).padStart(6),
        `${(r.median / baseline).toFixed(2)}x`.padStart(11),
      ].join('  '),
    );
  }
  if (suiteRuns > 0) {
    const seconds = (xs: number[]) =>
      `median ${(median(xs) / 1000).toFixed(1)} s, min ${(Math.min(...xs) / 1000).toFixed(1)} s, max ${(Math.max(...xs) / 1000).toFixed(1)} s`;
    const tscCache = join(root, 'node_modules', '.cache', 'tsc-test.tsbuildinfo');
    // As CI runs it after npm ci: no Jest transform cache, no incremental tsc state.
    const cold = Array.from({ length: suiteRuns }, () => {
      rmSync(tscCache, { force: true });
      return time(['npm', 'test', '--', '--no-cache'], {});
    });
    // As a developer reruns it: both caches warm.
    time(['npm', 'test'], {});
    const warm = Array.from({ length: suiteRuns }, () => time(['npm', 'test'], {}));
    console.log(`\nnpm test over ${suiteRuns} runs each:`);
    console.log(`  as CI runs it (no caches)     ${seconds(cold)}`);
    console.log(`  rerun (tsc and Jest caches)   ${seconds(warm)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
