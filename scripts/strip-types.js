// Runs the TypeScript entry points: `node --require ./scripts/strip-types.js main.ts`. esbuild strips the types
// of .ts files, as Jest's transform does, and the result is kept in node_modules/.cache/strip-types/ by content.
// Only .ts files pass through here: node_modules' JavaScript loads as Node loads it, ES modules through Node's own
// require (20.19, 22.13). tsx examined every file it loaded and took twice as long to start (README, Speed).
// Type-checking is tsc's job in `npm test`.
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const CACHE = join(__dirname, '..', 'node_modules', '.cache', 'strip-types');
// Stack traces point into the .ts files when source maps are on (`node --enable-source-maps`); otherwise no map.
const OPTIONS = { loader: 'ts', format: 'cjs', target: 'node20', sourcemap: process.sourceMapsEnabled ? 'inline' : false };
// A change to this file, to esbuild or to the options must not reuse code transformed before it.
const SELF = createHash('sha256')
  .update(readFileSync(__filename))
  .update(require('esbuild/package.json').version)
  .update(JSON.stringify(OPTIONS))
  .digest('hex');

function transform(source, file) {
  const cached = join(CACHE, `${createHash('sha256').update(SELF).update(file).update(source).digest('hex')}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    const { code } = require('esbuild').transformSync(source, { ...OPTIONS, sourcefile: file });
    try {
      // Renamed into place: processes that start together never read half a file.
      mkdirSync(CACHE, { recursive: true });
      writeFileSync(`${cached}.${process.pid}`, code);
      renameSync(`${cached}.${process.pid}`, cached);
    } catch {
      // A read-only node_modules: transform every run, slower but the same.
    }
    return code;
  }
}

require.extensions['.ts'] = (module, file) => module._compile(transform(readFileSync(file, 'utf8'), file), file);
