// `npm test`: the type-check beside Jest rather than before it. tsc uses one core; run first, it left the
// other idle for its whole run (13 s of 60 on a fresh clone). Fails when either fails; arguments go to Jest.
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const cwd = process.cwd();
const bin = (pkg, file) => require.resolve(join(pkg, file), { paths: [cwd] });
const tsc = [bin('typescript', 'bin/tsc'), '--noEmit', '--incremental', '--tsBuildInfoFile', 'node_modules/.cache/tsc-test.tsbuildinfo'];
const jest = [bin('jest', 'bin/jest'), ...process.argv.slice(2)];

/** Exit code of a Node program: its output captured, or passed through as it comes. */
function run(args, capture) {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(process.execPath, args, { cwd, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    if (capture) for (const stream of [child.stdout, child.stderr]) stream.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

void Promise.all([run(tsc, true), run(jest, false)]).then(([types, tests]) => {
  // tsc's report after Jest's, so the two never interleave.
  if (types.code !== 0) process.stderr.write(`${types.output}\ntsc: the type-check failed (above); fix the types, then npm test again\n`);
  process.exitCode = types.code || tests.code;
});
