// Jest's `bail` for mutation runs, which Stryker turns off (jest#11766): once a test fails under a mutant,
// the mutant is killed, so the rest of that run skips its tests and beforeAll hooks instead of running them
// for nothing. It also notes the file that failed, which test/support/fast-first-sequencer.js runs first
// for the next mutant (mostly its neighbour in the code). Outside a mutant run it changes nothing.
const { TestEnvironment } = require('jest-environment-node');

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
// Process-wide: Jest runs a mutant's test files one after another in this process, each in a new environment.
const KILLED = Symbol.for('buildkit-service.mutation-killed');
const LAST_KILLER = Symbol.for('buildkit-service.mutation-last-killer');

class MutationBailEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async handleTestEvent(event) {
    const mutant = process.env[ACTIVE_MUTANT];
    if (mutant === undefined) return;
    if (event.name === 'test_done' && event.test.errors.length > 0) {
      globalThis[KILLED] = mutant;
      globalThis[LAST_KILLER] = this.testPath;
    }
    if (globalThis[KILLED] !== mutant) return;
    if (event.name === 'run_describe_start') event.describeBlock.mode = 'skip';
    if (event.name === 'test_start') event.test.mode = 'skip';
  }
}

module.exports = MutationBailEnvironment;
