import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Azurite and the Cosmos DB emulator start once for the run; each test file starts its own Graph emulator.
    globalSetup: [
      'test/support/globalSetup.ts',
      'test/support/bicepNotice.ts',
      'test/support/consoleBuild.ts',
      'test/support/browserNotice.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Forks: every file gets its own process, so process.env and the app's cached settings never leak
    // between files, and in-process servers are torn down with the process.
    pool: 'forks',
    // Two cores: more workers would only compete with the emulators for CPU.
    maxWorkers: 2,
  },
});
