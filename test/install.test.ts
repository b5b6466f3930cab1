import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/dist';

// `npm ci` must install cleanly on the Node.js the project declares: no engine warnings, no unreviewed install scripts.
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const { minVersion, satisfies } = require('semver');

test('every locked package supports the oldest Node.js the project declares', () => {
  const oldest = minVersion(pkg.engines.node).version;
  const refusing = Object.entries(lock.packages as Record<string, any>)
    .filter(([, p]) => p.engines?.node && !satisfies(oldest, p.engines.node))
    .map(([path, p]) => `${path} needs node ${p.engines.node}`);
  expect(refusing).toEqual([]);
  expect(satisfies(process.version, pkg.engines.node)).toBe(true);
});

test('every package with an install script is approved or denied in allowScripts', () => {
  const scripted = Object.entries(lock.packages as Record<string, any>)
    .filter(([path, p]) => path && p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  expect(scripted.length).toBeGreaterThan(0);
  expect(scripted.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean')).toEqual([]);
});
