import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Programs from outside npm that some tests run. A fresh machine may lack them: those tests are then skipped,
 * each with one line naming the program and how to install it; with BUILDKIT_TEST_REQUIRE_PROGRAMS=1 (which
 * .ci/run sets) a missing one fails the suite instead, so CI never loses a check.
 */
const INSTALL = {
  'docker-registry': 'apt-get install docker-registry',
  openssl: 'apt-get install openssl',
  dash: 'apt-get install dash',
  cksum: 'apt-get install coreutils',
  unshare: 'apt-get install util-linux',
  setpriv: 'apt-get install util-linux',
} as const;

export type Program = keyof typeof INSTALL;

/** The marker a skipped test's name carries; test/support/skip-reporter.js lists them at the end of the run. */
export const SKIP_MARKER = 'skipped, needs';

const found = new Map<Program, boolean>();

/** Is an executable of that name in a folder of PATH (looked up once per test file)? */
function onPath(program: Program): boolean {
  if (!found.has(program)) {
    found.set(
      program,
      (process.env.PATH ?? '').split(delimiter).some((dir) => {
        try {
          accessSync(join(dir, program), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
    );
  }
  return found.get(program)!;
}

/** The reason, to skip by; under BUILDKIT_TEST_REQUIRE_PROGRAMS=1, a failure instead. */
function skipOrFail(reason: string): string {
  if (process.env.BUILDKIT_TEST_REQUIRE_PROGRAMS === '1') {
    throw new Error(`${reason} (BUILDKIT_TEST_REQUIRE_PROGRAMS=1 turns this skip into a failure)`);
  }
  return reason;
}

/** Why tests that run these programs cannot run here, or undefined when they can; throws under BUILDKIT_TEST_REQUIRE_PROGRAMS=1. */
export function missingReason(programs: readonly Program[]): string | undefined {
  const missing = programs.filter((p) => !onPath(p));
  if (missing.length === 0) return undefined;
  return skipOrFail(`${SKIP_MARKER} ${missing.join(', ')}: ${missing.map((p) => INSTALL[p]).join('; ')}`);
}

/**
 * Why tests cannot stand in for a pod's namespaces here, or undefined: a network namespace of its own (root's
 * to make) holding a user of another UID in a user namespace of its own, as rootlesskit runs the daemon.
 */
export function namespacesMissingReason(): string | undefined {
  const programs = missingReason(['unshare', 'setpriv']);
  if (programs !== undefined) return programs;
  const probe = spawnSync(
    'unshare',
    ['--net', 'setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', 'unshare', '--user', '--map-root-user', 'true'],
    {
      encoding: 'utf8',
      env: process.env, // the PATH onPath searched: under Jest, process.env is the test file's own copy
    },
  );
  if (probe.status === 0) return undefined;
  const said = `${probe.stderr ?? ''}`.trim().split('\n')[0] || `exit ${probe.status}`;
  return skipOrFail(`${SKIP_MARKER} network and user namespaces: run the tests as root where unshare --net works (${said})`);
}

/** `describe` when every program is on PATH; otherwise `describe.skip`, the reason in its title. */
export function describeWith(programs: readonly Program[]): (title: string, body: () => void) => void {
  const reason = missingReason(programs);
  return reason ? (title, body) => describe.skip(`${title} (${reason})`, body) : describe;
}

/** `test` when every program is on PATH; otherwise `test.skip`, the reason in its title. */
export function testWith(programs: readonly Program[]): (title: string, body: () => unknown) => void {
  return testUnless(missingReason(programs));
}

/** `test` without a reason to skip; otherwise `test.skip`, the reason in its title. */
export function testUnless(reason: string | undefined): (title: string, body: () => unknown) => void {
  return reason ? (title, body) => test.skip(`${title} (${reason})`, body as () => void) : (title, body) => test(title, body as () => void);
}
