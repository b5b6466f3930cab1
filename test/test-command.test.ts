import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// scripts/test.js (`npm test`) runs tsc beside Jest: either failing must fail the run, and Jest's arguments
// (.ci/run's --json --outputFile) must reach Jest. Run in a project of one source file and one test.
const ROOT = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'buildkit-test-command-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function project(name: string, source: string, testBody: string): string {
  const dir = join(work, name);
  const files = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, types: [], lib: ['ES2022'] }, files: ['a.ts'] }),
    'jest.config.js': "module.exports = { testMatch: ['**/*.test.js'], cacheDirectory: '.jest-cache' };",
    'a.ts': source,
    'a.test.js': `test('a', () => { ${testBody} });`,
  };
  mkdirSync(join(dir, 'node_modules', '.cache'), { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  for (const pkg of ['typescript', 'jest']) symlinkSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg));
  return dir;
}

const npmTest = (dir: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'test.js'), ...args], { cwd: dir, encoding: 'utf8' });

test('types and tests pass: exit 0, and the arguments reach Jest', () => {
  const dir = project('green', 'export const n: number = 1;\n', 'expect(1).toBe(1);');
  const run = npmTest(dir, '--json', '--outputFile=report.json');
  expect(run.status).toBe(0);
  expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toMatchObject({ numPassedTests: 1, numFailedTests: 0 });
  expect(run.stderr).not.toMatch(/type-check failed/);
});

test('a type error fails the run, its report printed after Jest ran every test', () => {
  const dir = project('types', "export const n: number = 'one';\n", 'expect(1).toBe(1);');
  const run = npmTest(dir);
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/Tests: +1 passed, 1 total[\s\S]*a\.ts\(1,14\): error TS2322/);
  expect(run.stderr.trim().split('\n').at(-1)).toBe('tsc: the type-check failed (above); fix the types, then npm test again');
});

test('a failing test fails the run though the types are sound', () => {
  const dir = project('tests', 'export const n: number = 1;\n', 'expect(1).toBe(2);');
  const run = npmTest(dir);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/Tests: +1 failed, 1 total/);
  expect(run.stderr).not.toMatch(/type-check failed/);
});
