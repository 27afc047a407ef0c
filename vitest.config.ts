import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/**/*.spec.ts", "services/**/*.spec.ts", "tests/**/*.spec.ts"],
    exclude: ["**/node_modules/**"],
    globalSetup: ["packages/testing/src/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // two cores: more workers only add contention between real servers
    maxWorkers: 2,
    reporters: ["default"],
  },
});
