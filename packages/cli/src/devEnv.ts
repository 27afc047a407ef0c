import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEV_ENV_FILE, findDevEnvFile, readDevEnv } from "@hookstream/config";

/** Set on the environment the CLI runs with: the dev env file it read, for messages. */
export const DEV_ENV_LOADED = "HOOKSTREAM_DEV_ENV_LOADED";

/** The project root beside this package (src/ and dist/ are one folder below packages/cli). */
function projectDevEnvFile(): string | undefined {
  const path = fileURLToPath(new URL(`../../../${DEV_ENV_FILE}`, import.meta.url));
  return existsSync(path) ? path : undefined;
}

/**
 * The environment with each variable it lacks taken from the development file
 * `npm start` writes (`.hookstream/dev.env`, looked for from `cwd` upward, then
 * beside the CLI's own package). A variable set in the shell always wins.
 * `HOOKSTREAM_DEV_ENV_FILE` names another file, or `none`; production reads none.
 */
export function withDevEnv(env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  if (env.NODE_ENV === "production") return env;
  const named = env.HOOKSTREAM_DEV_ENV_FILE?.trim();
  if (named === "none") return env;
  const path = named || findDevEnvFile(cwd) || projectDevEnvFile();
  const vars = readDevEnv(path);
  const merged: NodeJS.ProcessEnv = { ...env };
  let used = false;
  for (const [key, value] of Object.entries(vars)) {
    if (merged[key] === undefined || merged[key] === "") {
      merged[key] = value;
      used = true;
    }
  }
  if (used && path) merged[DEV_ENV_LOADED] = path;
  return merged;
}
