import { spawnSync } from "node:child_process";

export const PROMTOOL_MISSING =
  "promtool is not installed: run `apt-get install -y prometheus` (Debian; .ci/run does it when missing)";

/** Runs promtool with `args` (and `input` on stdin); throws with the install command when it is missing. */
export function promtool(args: string[], input?: string): { status: number; output: string } {
  const r = spawnSync("promtool", args, { input, encoding: "utf8", timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(PROMTOOL_MISSING);
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
