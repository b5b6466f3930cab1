/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Jest's default leaves a core idle; on the 2-core machines here both are worth having.
  maxWorkers: '100%',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // One limit for every test and hook, at least ten times the slowest one's idle time (the README steps, about
  // 10 s): a busy machine makes tests slower, never wrong. Waits inside tests poll for their condition.
  testTimeout: 120_000,
  reporters: ['default', '<rootDir>/test/support/skip-reporter.js'],
  globalSetup: '<rootDir>/test/support/run-tmpdir-setup.js',
  globalTeardown: '<rootDir>/test/support/run-tmpdir-teardown.js',
  // tsc type-checks in `npm test`; jest only transpiles, with esbuild (see test/support/esbuild-transform.js).
  transform: { '^.+\\.[tj]s$': '<rootDir>/test/support/esbuild-transform.js' },
  transformIgnorePatterns: ['/node_modules/(?!(age-encryption|@noble|@scure)/)'],
};
