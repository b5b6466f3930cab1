// Mutation runs stop at the first failing test file (test/support/mutation-bail-environment.js), so the
// file that killed the previous mutant goes first, then the small unit test files: a kill costs their run
// alone, not the whole-command tests' (Jest's default runs the slowest first).
const { statSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

const LAST_KILLER = Symbol.for('buildkit-service.mutation-last-killer');

class FastFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (test) => (test.path === globalThis[LAST_KILLER] ? -1 : statSync(test.path).size);
    return [...tests].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  }
}

module.exports = FastFirstSequencer;
