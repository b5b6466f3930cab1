// Jest for mutation testing: the unit tests that pin each module's behaviour. Left out are the tests that
// read the repository through git (Stryker's sandbox is no checkout) and the end-to-end runs of whole
// commands, which take seconds per mutant and pin flows that the unit tests below them already cover.
const base = require('./jest.config');

module.exports = {
  ...base,
  // An absolute path: Stryker resolves the environment itself, without <rootDir>.
  testEnvironment: require.resolve('./test/support/mutation-bail-environment.js'),
  testSequencer: '<rootDir>/test/support/fast-first-sequencer.js',
  testPathIgnorePatterns: ['/node_modules/', 'changing-the-service', 'no-secrets-in-git', 'library', 'key-files', 'install'],
};
