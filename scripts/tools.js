// Installs tools/ (mutation testing, the benchmark's ts-node) on first use, and again when its lockfile
// changes: `npm ci` in the project stays lean, and these come from their own pinned lockfile.
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const tools = join(__dirname, '..', 'tools');
const lockDigest = createHash('sha256')
  .update(readFileSync(join(tools, 'package-lock.json')))
  .digest('hex');
const stamp = join(tools, 'node_modules', '.installed-lock-sha256');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockDigest) {
  process.stderr.write('installing tools/ (first use, or its lockfile changed)\n');
  execFileSync('npm', ['ci', '--prefix', tools, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  writeFileSync(stamp, lockDigest);
}
