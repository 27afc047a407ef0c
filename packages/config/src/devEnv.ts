import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * The file `npm start` leaves for the CLI on a developer machine (never in
 * production): the development admin token, every service's URL, the database and
 * NATS of that run, as `KEY=value` lines a shell can source. Relative to the project root.
 */
export const DEV_ENV_FILE = ".hookstream/dev.env";

/** `KEY=value` lines, each value on one line; `#` starts a comment line. */
export function formatDevEnv(vars: Record<string, string>, comment: string[] = []): string {
  const lines = comment.map((c) => `# ${c}`);
  for (const [key, value] of Object.entries(vars)) {
    if (/[\r\n]/.test(value)) throw new Error(`${key}: a value in ${DEV_ENV_FILE} must fit on one line`);
    // single quotes: a shell that sources the file takes the value as written
    lines.push(`${key}='${value.replaceAll("'", `'\\''`)}'`);
  }
  return `${lines.join("\n")}\n`;
}

/** Reads what formatDevEnv wrote (and plain `KEY=value` lines a person adds). */
export function parseDevEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.startsWith("'") && value.endsWith("'") && value.length >= 2)
      value = value.slice(1, -1).replaceAll(`'\\''`, "'");
    else if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    vars[key] = value;
  }
  return vars;
}

/** The nearest `.hookstream/dev.env` from `dir` upward, else undefined. */
export function findDevEnvFile(dir: string): string | undefined {
  let current = resolve(dir);
  for (;;) {
    const candidate = join(current, DEV_ENV_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** The variables of a dev env file; empty when it is missing or unreadable. */
export function readDevEnv(path: string | undefined): Record<string, string> {
  if (!path) return {};
  try {
    return parseDevEnv(readFileSync(path, "utf8"));
  } catch {
    return {};
  }
}
