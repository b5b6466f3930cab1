// Each run's temporary files go in a folder of its own, which run-tmpdir-teardown.js removes when the run ends.
// cdk8s's Testing.app() makes an output folder in the temporary directory on every call and never removes it:
// about 400 a run were left behind. The workers start after this and inherit TMPDIR.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async () => {
  process.env.BUILDKIT_TEST_RUN_TMPDIR = process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'buildkit-test-run-'));
};
