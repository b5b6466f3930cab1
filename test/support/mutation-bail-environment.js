// Jest's `bail` for mutation runs, which Stryker turns off (jest#11766): once a test fails under a mutant,
// the mutant is killed, so the rest of that run skips its tests and beforeAll hooks instead of running them
// for nothing. Outside a mutant run (npm test, Stryker's dry run) it changes nothing.
const { TestEnvironment } = require('jest-environment-node');

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
// Process-wide: Jest runs a mutant's test files one after another in this process, each in a new environment.
const KILLED = Symbol.for('buildkit-service.mutation-killed');

class MutationBailEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    const mutant = process.env[ACTIVE_MUTANT];
    if (mutant === undefined) return;
    if (event.name === 'test_done' && event.test.errors.length > 0) globalThis[KILLED] = mutant;
    if (globalThis[KILLED] !== mutant) return;
    if (event.name === 'run_describe_start') event.describeBlock.mode = 'skip';
    if (event.name === 'test_start') event.test.mode = 'skip';
  }
}

module.exports = MutationBailEnvironment;
