// Mutation runs stop at the first failing test file, so the small unit test files go first: a mutant
// they kill costs their run alone, not the whole-command tests' (Jest's default runs the slowest first).
const { statSync } = require('fs');
const Sequencer = require('@jest/test-sequencer').default;

class FastFirstSequencer extends Sequencer {
  sort(tests) {
    const size = (test) => statSync(test.path).size;
    return [...tests].sort((a, b) => size(a) - size(b) || a.path.localeCompare(b.path));
  }
}

module.exports = FastFirstSequencer;
