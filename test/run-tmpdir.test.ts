import { existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

// The run's temporary folder (test/support/run-tmpdir-*.js): what the tests make in the temporary directory,
// cdk8s's Testing.app() folders included, is removed with it at the end of the run.
const teardown = require('./support/run-tmpdir-teardown.js');
const { tsxCache } = require('./support/run-tmpdir-setup.js');

test("the tests' temporary directory is the run's own folder", () => {
  expect(basename(tmpdir())).toMatch(/^buildkit-test-run-\w{6}$/);
  expect(process.env.BUILDKIT_TEST_RUN_TMPDIR).toBe(tmpdir());
});

test("tsx's cache in it is the shared one, so the tsx runs (a consumer's certs.ts, the workflow parser) start warm", () => {
  expect(tsxCache()).toBe(`tsx-${process.geteuid?.()}`);
  expect(realpathSync(join(tmpdir(), tsxCache()))).toBe(join(realpathSync(dirname(tmpdir())), tsxCache()));
});

describe('the teardown', () => {
  const saved = process.env.BUILDKIT_TEST_RUN_TMPDIR;
  afterEach(() => {
    process.env.BUILDKIT_TEST_RUN_TMPDIR = saved;
  });

  test('removes the folder it is given, with what is in it, and leaves its neighbour', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'teardown-'));
    const run = join(parent, 'run');
    mkdirSync(join(run, 'cdk8s.outdir.abc123'), { recursive: true });
    writeFileSync(join(run, 'file'), 'x');
    writeFileSync(join(parent, 'neighbour'), 'x');
    process.env.BUILDKIT_TEST_RUN_TMPDIR = run;
    await teardown();
    expect([existsSync(run), existsSync(join(parent, 'neighbour'))]).toEqual([false, true]);
  });

  test('removes a link in it, not what the link points to (the shared tsx cache)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'teardown-'));
    const run = join(parent, 'run');
    mkdirSync(run);
    mkdirSync(join(parent, 'shared'));
    writeFileSync(join(parent, 'shared', 'entry'), 'x');
    symlinkSync(join(parent, 'shared'), join(run, 'tsx-1000'));
    process.env.BUILDKIT_TEST_RUN_TMPDIR = run;
    await teardown();
    expect([existsSync(run), existsSync(join(parent, 'shared', 'entry'))]).toEqual([false, true]);
  });

  test('without a folder set, removes nothing and does not fail', async () => {
    const kept = mkdtempSync(join(tmpdir(), 'teardown-'));
    delete process.env.BUILDKIT_TEST_RUN_TMPDIR;
    await teardown();
    expect(existsSync(kept)).toBe(true);
  });
});
