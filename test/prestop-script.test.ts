import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESTOP_SCRIPT } from '../lib/prestop-script';

// The preStop hook, run by a real sh against a fake buildctl that answers `debug histories` as buildkitd would:
// one formatted line per history record, "active" for records without a completion time.
describe('preStop waits while builds run, and no longer than its limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildkit-prestop-'));
  const script = join(dir, 'prestop.sh');
  writeFileSync(script, PRESTOP_SCRIPT);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A buildctl that reports `active` builds for the first `busyCalls` calls, then none; it logs its arguments. */
  function fakeBuildctl(busyCalls: number, active = 1, failing = false): string {
    const bin = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(
      join(bin, 'buildctl'),
      [
        '#!/bin/sh',
        `echo "$*" >> "${bin}/calls"`,
        failing ? 'echo "connection refused" >&2; exit 1' : '',
        `n=$(wc -l < "${bin}/calls")`,
        'echo ""', // a completed record renders as an empty line
        `if [ "$n" -le ${busyCalls} ]; then i=0; while [ $i -lt ${active} ]; do echo active; i=$((i+1)); done; fi`,
      ].join('\n'),
    );
    chmodSync(join(bin, 'buildctl'), 0o755);
    return bin;
  }

  function run(bin: string, limitSeconds: string) {
    const result = spawnSync('sh', [script, limitSeconds], {
      env: { PATH: `${bin}:${process.env.PATH}`, PRESTOP_INTERVAL: '0', BUILDKIT_HOST: 'unix:///tmp/test.sock' },
      encoding: 'utf8',
    });
    const calls = execFileSync('cat', [join(bin, 'calls')], { encoding: 'utf8' })
      .trim()
      .split('\n');
    return { status: result.status, out: result.stdout.trim(), calls };
  }

  test('returns at once when no build runs', () => {
    const { status, out, calls } = run(fakeBuildctl(0), '60');
    expect(status).toBe(0);
    expect(out).toBe('prestop: no build running after 0 s');
    expect(calls).toHaveLength(1);
  });

  test('asks buildkitd over the socket for the records of unfinished builds', () => {
    const { calls } = run(fakeBuildctl(0), '60');
    expect(calls[0]).toBe(
      '--addr unix:///tmp/test.sock debug histories --format {{if .Record}}{{if not .Record.CompletedAt}}active{{end}}{{end}}',
    );
  });

  test('waits until running builds finish', () => {
    const { status, out, calls } = run(fakeBuildctl(3, 2), '60');
    expect(status).toBe(0);
    expect(out).toMatch(/^prestop: no build running after 0 s$/);
    expect(calls).toHaveLength(4);
  });

  test('gives up at the limit, still exiting 0 so the container stops', () => {
    const bin = fakeBuildctl(1000);
    const started = Date.now();
    const result = spawnSync('sh', [script, '1'], { env: { PATH: `${bin}:${process.env.PATH}`, PRESTOP_INTERVAL: '1' }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('prestop: 1 build(s) still running after 1 s; stopping anyway');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  test('a daemon that does not answer is not waited for', () => {
    const { status, out } = run(fakeBuildctl(0, 1, true), '60');
    expect(status).toBe(0);
    expect(out).toMatch(/no build running/);
  });
});
