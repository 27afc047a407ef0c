import { defineConfig } from "vitest/config";

// Processes the tests spawn (`node --import tsx services/<x>/src/main.ts`) resolve the
// workspaces to their sources too: without this they would load a stale or missing dist/.
if (!process.env.NODE_OPTIONS?.includes("--conditions=source")) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, "--conditions=source"].filter(Boolean).join(" ");
}

/**
 * Two groups, one after the other: the unit and integration tests (two files at a
 * time) with the three-minute soak beside them, then the fault suite (`tests/faults`, one file at a time: each starts
 * several service processes, and its time bounds must not compete with other files
 * for the two cores).
 */
export default defineConfig({
  // workspaces resolve to their TypeScript sources (the `source` export condition), never to a stale dist/
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    globalSetup: ["packages/testing/src/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: [
            "packages/**/*.spec.ts",
            "services/**/*.spec.ts",
            "tests/*.spec.ts",
            "tests/deploy/**/*.spec.ts",
            "tests/ops/**/*.spec.ts",
            "tests/console/**/*.spec.ts",
          ],
          exclude: ["**/node_modules/**"],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          // the three-minute soak beside the unit and integration tests: it sends 20 events/s
          // and waits most of its time, asserts correctness only (never speed), and would
          // otherwise hold the fault group's single lane for four minutes
          name: "soak",
          include: ["tests/faults/soak.fault.spec.ts"],
          exclude: ["**/node_modules/**"],
          maxWorkers: 1,
          testTimeout: 20 * 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "faults",
          include: ["tests/faults/**/*.fault.spec.ts"],
          exclude: ["**/node_modules/**", "tests/faults/soak.fault.spec.ts"],
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 180_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
