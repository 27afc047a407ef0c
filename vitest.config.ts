import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

// Processes the tests spawn (`node --import tsx services/<x>/src/main.ts`) resolve the
// workspaces to their sources too: without this they would load a stale or missing dist/.
if (!process.env.NODE_OPTIONS?.includes("--conditions=source")) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, "--conditions=source"].filter(Boolean).join(" ");
}

/**
 * The files that take longest, longest first (measured on a 2-core machine): they start
 * first so that none of them is the last to finish. Vitest orders by the durations of the
 * previous run when it has them (node_modules/.vite), but a fresh clone (CI) has none and
 * it would order by file size, which started the 60 s pause test four minutes in.
 */
const LONG_FILES = [
  "services/delivery/src/pause.int.spec.ts",
  "tests/quickstart.e2e.spec.ts",
  "tests/newHandler.int.spec.ts",
  "services/delivery/src/ordering.int.spec.ts",
  "services/fine-tuning-handler/src/crash.int.spec.ts",
];

/**
 * Vitest's order (group, then project name, then the previous run's durations), except
 * that within a group the soak starts first (by project name it would start after every
 * file of `main`), then LONG_FILES.
 */
class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      if (spec.project.name === "soak") return -1;
      const i = LONG_FILES.findIndex((f) => spec.moduleId.endsWith(`/${f}`));
      return i === -1 ? LONG_FILES.length : i;
    };
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort(
        (a, b) =>
          a.spec.project.config.sequence.groupOrder - b.spec.project.config.sequence.groupOrder ||
          rank(a.spec) - rank(b.spec) ||
          a.i - b.i,
      )
      .map(({ spec }) => spec);
  }
}

/**
 * Two groups, one after the other: the unit and integration tests with the three-minute
 * soak beside them, then the fault suite (`tests/faults`, one file at a time: each starts
 * several service processes, and its time bounds must not compete with other files
 * for the two cores).
 *
 * The first group has 3 workers: the soak holds one for its three minutes (it starts
 * first), the unit and integration tests two, and the third once the soak is done. It
 * must be one group: vitest runs a project with a single worker and the default group
 * order after every group (it would put the soak after the fault suite), and projects of
 * one group share one `maxWorkers`.
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
    sequence: { sequencer: LongFirstSequencer },
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
          maxWorkers: 3,
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
          // the group's (main's): vitest refuses different ones in one group
          maxWorkers: 3,
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
