import { defineConfig } from "vitest/config";

// Unit tests sit beside the code and import workspace packages from source (the
// "@onramp/source" export condition); e2e tests drive the built CLI as real processes.
export default defineConfig({
  test: {
    projects: [
      {
        resolve: { conditions: ["@onramp/source"] },
        ssr: { resolve: { conditions: ["@onramp/source"] } },
        test: {
          name: "unit",
          include: ["libs/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "cli/src/**/*.test.ts"],
          testTimeout: 20_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // e2e suites start real processes on loopback; two at a time fits a 2-core machine.
          maxWorkers: 2,
          // After the unit tests, which are fast and say more when something basic breaks.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
