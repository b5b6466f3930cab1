// Jest's transform: esbuild strips types and turns ES modules (ours, and age-encryption's @noble/@scure
// dependencies, which ship nothing else) into CommonJS. Type-checking is tsc's job in `npm test`.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, file) {
    const { code, map } = transformSync(source, {
      loader: file.endsWith('.ts') ? 'ts' : 'js', format: 'cjs', target: 'node20', sourcemap: 'external', sourcefile: file,
      supported: { 'dynamic-import': false }, // jest's CommonJS runtime has no import(): make it a require
    });
    return { code, map };
  },
};
