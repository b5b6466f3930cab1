// Jest's transform: esbuild strips types and turns ES modules (ours, and age-encryption's @noble/@scure
// dependencies, which ship nothing else) into CommonJS. Type-checking is tsc's job in `npm test`.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { transformSync, version } = require('esbuild');

const OPTIONS = {
  format: 'cjs',
  target: 'node20',
  sourcemap: 'external',
  supported: { 'dynamic-import': false }, // jest's CommonJS runtime has no import(): make it a require
};
// Jest caches by this key: a change to this file or to esbuild must not reuse code transformed before it.
const SELF = createHash('sha256').update(readFileSync(__filename)).update(version).digest('hex');

module.exports = {
  getCacheKey(source, file) {
    return createHash('sha256').update(SELF).update(file).update(source).digest('hex');
  },
  process(source, file) {
    const { code, map } = transformSync(source, { ...OPTIONS, loader: file.endsWith('.ts') ? 'ts' : 'js', sourcefile: file });
    return { code, map };
  },
};
