import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

/**
 * Synth speed, measured rather than asserted: runs each way of synthesizing the same chart N times into a
 * temporary folder and prints median, min and max wall time, and each way's median against the README's
 * command. Usage: npm run bench [-- RUNS]
 */
const runs = Number(process.argv[2] ?? 7);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs ${process.argv[2]}: use a whole number, at least 1`);
const root = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'buildkit-bench-'));

const ways: Array<{ name: string; command: string[] }> = [
  { name: 'npm run synth (README)', command: ['npm', 'run', '-s', 'synth'] },
  { name: 'node --import tsx main.ts', command: ['node', '--import', 'tsx', 'main.ts'] },
  { name: 'cdk8s synth', command: ['npx', '--no-install', 'cdk8s', 'synth', '-o', join(work, 'cli')] },
  { name: 'npx ts-node main.ts (cdk8s template)', command: ['npx', '--no-install', 'ts-node', 'main.ts'] },
];

function time(command: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command[0], command.slice(1), {
    cwd: root, stdio: 'pipe', env: { ...process.env, CDK8S_OUTDIR: join(work, 'out'), CDK8S_CHECK_UPGRADE: 'false' },
  });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr.toString().trim().split('\n').pop()}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

try {
  const results = ways.map((way) => {
    time(way.command); // warm the file cache and tsx's transform cache; not counted
    const samples = Array.from({ length: runs }, () => time(way.command));
    return { ...way, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
  });
  const baseline = results[0].median;
  console.log(`synth wall time over ${runs} runs (ms), after one warm-up run each`);
  console.log(['way'.padEnd(38), 'median', '   min', '   max', '  vs README'].join('  '));
  for (const r of results) {
    console.log([r.name.padEnd(38), r.median.toFixed(0).padStart(6), r.min.toFixed(0).padStart(6), r.max.toFixed(0).padStart(6),
      `${(r.median / baseline).toFixed(2)}x`.padStart(11)].join('  '));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
