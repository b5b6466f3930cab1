// Each run's temporary files go in a folder of its own, which run-tmpdir-teardown.js removes when the run ends.
// cdk8s's Testing.app() makes an output folder in the temporary directory on every call and never removes it:
// about 400 a run were left behind. The workers start after this and inherit TMPDIR.
const { mkdirSync, mkdtempSync, symlinkSync } = require('node:fs');
const { tmpdir, userInfo } = require('node:os');
const { join } = require('node:path');

/** tsx keeps its transforms in <tmpdir>/tsx-<uid>; a run's own tmpdir would make every tsx run start cold. */
const tsxCache = () => `tsx-${process.geteuid ? process.geteuid() : userInfo().username}`;

module.exports = async () => {
  const shared = tmpdir();
  const run = mkdtempSync(join(shared, 'buildkit-test-run-'));
  mkdirSync(join(shared, tsxCache()), { recursive: true });
  symlinkSync(join(shared, tsxCache()), join(run, tsxCache()));
  process.env.BUILDKIT_TEST_RUN_TMPDIR = process.env.TMPDIR = run;
};
module.exports.tsxCache = tsxCache;
