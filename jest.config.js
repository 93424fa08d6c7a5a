/** `unit` is pure and needs nothing running; `integration` runs against the real local stack
 *  (Kafka, Redis, schema registry), started once by its global setup; `fault` kills and
 *  restarts things, on a stack of its own. */
const transform = { '^.+\\.tsx?$': 'ts-jest' };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      slowTestThreshold: 30,
    },
    {
      // Crash and replay: kills raters, restarts Redis and Kafka, on a stack of its own.
      displayName: 'fault',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/fault/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/fault-setup.ts',
      globalTeardown: '<rootDir>/test/support/fault-teardown.ts',
      slowTestThreshold: 120,
    },
  ],
};
