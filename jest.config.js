import { availableParallelism } from 'node:os';

// The pinned AWS SDK supports Node 20; its notice about future releases is noise in every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Native ESM jest with @swc/jest: got, openid-client and the MCP SDK are ESM-only, and
// Jest's CJS mode cannot require() them on Node 20. Type checking is `npm run typecheck`.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 20000,
  // The suites mostly wait on sockets (the app, the emulators, DynamoDB, a browser), so two run side by
  // side even on two cores; jest's own default (one less than the cores) would run them one at a time.
  maxWorkers: Math.max(2, availableParallelism() - 1),
};
