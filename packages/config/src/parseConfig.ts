import { z } from "zod";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/**
 * Parses the environment once, in `main`, and lists every bad variable at once,
 * each with the variable's name and what it should look like.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** An integer from an environment string, with a default and bounds. */
export function intVar(defaultValue: number, opts: { min?: number; max?: number } = {}) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return defaultValue;
      const n = Number(v);
      if (!Number.isInteger(n)) {
        ctx.addIssue({ code: "custom", message: `must be an integer, got "${v}"` });
        return z.NEVER;
      }
      if (opts.min !== undefined && n < opts.min) {
        ctx.addIssue({ code: "custom", message: `must be ≥ ${opts.min}, got ${n}` });
        return z.NEVER;
      }
      if (opts.max !== undefined && n > opts.max) {
        ctx.addIssue({ code: "custom", message: `must be ≤ ${opts.max}, got ${n}` });
        return z.NEVER;
      }
      return n;
    });
}

export function stringVar(defaultValue: string) {
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? defaultValue : v.trim()));
}

export function optionalStringVar() {
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
}

/** A list separated by commas or whitespace (`NATS_URL`, `NOTIFY_URLS`, secrets). */
export function listVar(defaultValue: string[] = []) {
  return z
    .string()
    .optional()
    .transform((v) => {
      if (v === undefined || v.trim() === "") return defaultValue;
      return v.split(/[\s,]+/).filter((s) => s.length > 0);
    });
}

export function boolVar(defaultValue: boolean) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return defaultValue;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      ctx.addIssue({ code: "custom", message: `must be true or false, got "${v}"` });
      return z.NEVER;
    });
}

export function urlListVar(defaultValue: string[] = []) {
  return listVar(defaultValue).superRefine((urls, ctx) => {
    for (const url of urls) {
      if (!URL.canParse(url)) ctx.addIssue({ code: "custom", message: `"${url}" is not a URL` });
    }
  });
}
