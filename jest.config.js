/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Jest's default leaves a core idle; on the 2-core machines here both are worth having.
  maxWorkers: '100%',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // tsc type-checks in `npm test`; jest only transpiles, with esbuild (see test/support/esbuild-transform.js).
  transform: { '^.+\\.[tj]s$': '<rootDir>/test/support/esbuild-transform.js' },
  transformIgnorePatterns: ['/node_modules/(?!(age-encryption|@noble|@scure)/)'],
};
