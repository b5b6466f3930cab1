// Removes the run's temporary folder (run-tmpdir-setup.js), and nothing else.
const { rmSync } = require('node:fs');

module.exports = async () => {
  const dir = process.env.BUILDKIT_TEST_RUN_TMPDIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
};
