// Jest for mutation testing: the unit tests that pin each module's behaviour. Left out are the tests that
// read the repository through git (Stryker's sandbox is no checkout) and the end-to-end runs of whole
// commands, which take seconds per mutant and pin flows that the unit tests below them already cover.
const base = require('./jest.config');

module.exports = {
  ...base,
  // An absolute path: Stryker resolves the environment itself, without <rootDir>.
  testEnvironment: require.resolve('./test/support/mutation-bail-environment.js'),
  // lib/ among the roots puts it in Jest's module graph: Stryker runs a mutant under --findRelatedTests, which
  // without it misses every test that reaches the mutated file through another lib/ module (lib/index.ts).
  roots: ['<rootDir>/test', '<rootDir>/lib'],
  testSequencer: '<rootDir>/test/support/fast-first-sequencer.js',
  // Also left out: the crash test (a dozen processes per run) and the documented-defaults check (its certificate
  // scenarios repeat what certs-commands and certs-lifecycle pin, at many times the cost per mutant).
  testPathIgnorePatterns: [
    '/node_modules/',
    'changing-the-service',
    'no-secrets-in-git',
    'library',
    'key-files-killed',
    'install',
    'crash-safety',
    'documented-defaults',
  ],
};
