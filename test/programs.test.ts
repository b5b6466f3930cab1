import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Tests that need a program from outside npm: skipped with one named line where it is missing, a failure
// where CI asks for every program.
const bin = mkdtempSync(join(tmpdir(), 'buildkit-programs-'));
writeFileSync(join(bin, 'dash'), '#!/bin/sh\n');
chmodSync(join(bin, 'dash'), 0o755);
writeFileSync(join(bin, 'openssl'), 'not executable');
afterAll(() => rmSync(bin, { recursive: true, force: true }));

type Programs = typeof import('./support/programs');

/** missingReason (or another gate of programs.ts) as a test file sees it with this PATH and environment. */
function reason(
  programs: Parameters<Programs['missingReason']>[0],
  env: Record<string, string | undefined>,
  gate?: (p: Programs) => string | undefined,
) {
  const saved = { PATH: process.env.PATH, BUILDKIT_TEST_REQUIRE_PROGRAMS: process.env.BUILDKIT_TEST_REQUIRE_PROGRAMS };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    let result: string | undefined;
    jest.isolateModules(() => {
      const module: Programs = require('./support/programs');
      result = gate ? gate(module) : module.missingReason(programs);
    });
    return result;
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

test('a program on PATH, executable, is no reason to skip', () => {
  expect(reason(['dash'], { PATH: bin, BUILDKIT_TEST_REQUIRE_PROGRAMS: undefined })).toBeUndefined();
  expect(reason(['dash'], { PATH: bin, BUILDKIT_TEST_REQUIRE_PROGRAMS: '1' })).toBeUndefined();
});

test('a missing program, or a file of its name that cannot run, names each program and its install command', () => {
  expect(reason(['dash', 'docker-registry', 'openssl'], { PATH: bin, BUILDKIT_TEST_REQUIRE_PROGRAMS: undefined })).toBe(
    'skipped, needs docker-registry, openssl: apt-get install docker-registry; apt-get install openssl',
  );
  expect(reason(['cksum'], { PATH: `${bin}:/nonexistent`, BUILDKIT_TEST_REQUIRE_PROGRAMS: '0' })).toBe(
    'skipped, needs cksum: apt-get install coreutils',
  );
});

test('under BUILDKIT_TEST_REQUIRE_PROGRAMS=1 (what .ci/run sets) a missing program fails instead', () => {
  expect(() => reason(['docker-registry'], { PATH: bin, BUILDKIT_TEST_REQUIRE_PROGRAMS: '1' })).toThrow(
    /^skipped, needs docker-registry: apt-get install docker-registry \(BUILDKIT_TEST_REQUIRE_PROGRAMS=1 turns this skip into a failure\)$/,
  );
});

test('namespaces: the programs first, then whether this user may make them, its refusal quoted', () => {
  const namespaces = (path: string, require?: string) =>
    reason([], { PATH: path, BUILDKIT_TEST_REQUIRE_PROGRAMS: require }, (p) => p.namespacesMissingReason());
  expect(namespaces(bin)).toBe('skipped, needs unshare, setpriv: apt-get install util-linux; apt-get install util-linux');
  const refusing = mkdtempSync(join(tmpdir(), 'buildkit-programs-'));
  try {
    writeFileSync(join(refusing, 'unshare'), '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n');
    writeFileSync(join(refusing, 'setpriv'), '#!/bin/sh\n');
    for (const p of ['unshare', 'setpriv']) chmodSync(join(refusing, p), 0o755);
    expect(namespaces(refusing)).toBe(
      'skipped, needs network and user namespaces: run the tests as root where unshare --net works (unshare: unshare failed: Operation not permitted)',
    );
    writeFileSync(join(refusing, 'unshare'), '#!/bin/sh\nexit 3\n');
    expect(namespaces(refusing)).toMatch(/\(exit 3\)$/);
    expect(() => namespaces(refusing, '1')).toThrow(/\(exit 3\) \(BUILDKIT_TEST_REQUIRE_PROGRAMS=1 turns this skip into a failure\)$/);
    writeFileSync(join(refusing, 'unshare'), '#!/bin/sh\nexit 0\n');
    expect(namespaces(refusing, '1')).toBeUndefined();
  } finally {
    rmSync(refusing, { recursive: true, force: true });
  }
});

test('the run ends with one line per reason, counting its skipped tests, and nothing for other skips', () => {
  const SkipReporter = require('./support/skip-reporter.js');
  const lines: string[] = [];
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const file = (tests: Array<[string, string]>) => ({ testResults: tests.map(([fullName, status]) => ({ fullName, status })) });
    new SkipReporter().onRunComplete(new Set(), {
      testResults: [
        file([
          ['registry a (skipped, needs docker-registry: apt-get install docker-registry)', 'pending'],
          ['plain skip', 'pending'],
        ]),
        file([
          ['registry b (skipped, needs docker-registry: apt-get install docker-registry)', 'pending'],
          ['ok', 'passed'],
        ]),
        file([['x (skipped, needs openssl: apt-get install openssl)', 'pending']]),
      ],
    });
  } finally {
    write.mockRestore();
  }
  expect(lines).toEqual([
    '2 tests skipped, needs docker-registry: apt-get install docker-registry\n',
    '1 test skipped, needs openssl: apt-get install openssl\n',
  ]);
});
