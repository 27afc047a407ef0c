import { readFileSync } from "node:fs";
import { z } from "zod";

export interface JsonListVarOptions {
  /** what a list looks like, for the "not JSON" problem, e.g. "a list of { name, secrets, … }" */
  shape: string;
  /** the value when the variable is unset or empty */
  empty: "empty list" | "undefined";
  /**
   * Which entry names a problem shows: `any` string, or only a `valid` token (a name
   * field holding a pasted secret by mistake is then never echoed). Default `valid`.
   */
  names?: "any" | "valid";
}

/** An entry's name as a problem shows it: only a name of the expected form (never a misplaced secret). */
const SHOWN_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * A variable holding a JSON list, or `@path/to/file.json` holding one (a file keeps
 * secrets out of the process list and suits a mounted Secret), parsed by `schema`.
 * Every problem names the entry by position and name, then the field, e.g.
 * `[1] "acme" envelope: Invalid option: …`; zod's messages never quote a value.
 */
export function jsonListVar<T>(
  schema: z.ZodType<T>,
  opts: JsonListVarOptions & { empty: "empty list" },
): z.ZodType<T>;
export function jsonListVar<T>(
  schema: z.ZodType<T>,
  opts: JsonListVarOptions & { empty: "undefined" },
): z.ZodType<T | undefined>;
export function jsonListVar<T>(schema: z.ZodType<T>, opts: JsonListVarOptions): z.ZodType<T | undefined> {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      if (raw === undefined || raw.trim() === "") return opts.empty === "empty list" ? ([] as T) : undefined;
      const problem = (message: string) => {
        ctx.addIssue({ code: "custom", message });
        return z.NEVER;
      };
      let text = raw.trim();
      if (text.startsWith("@")) {
        const path = text.slice(1);
        try {
          text = readFileSync(path, "utf8");
        } catch (err) {
          return problem(
            `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          );
        }
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        // only where it broke: JSON.parse's message may quote the text (`Unexpected token
        // 'x', "[{"name": "…"... is not valid JSON`), and these lists hold secrets
        const where = /position (\d+)/.exec((err as Error).message)?.[1];
        const why = where === undefined ? "cannot be parsed" : `broken at character ${where}`;
        return problem(`not JSON (${opts.shape}): ${why}`);
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: "custom", message: describeIssue(value, issue, opts.names ?? "valid") });
      return z.NEVER;
    });
}

/** `[1] "acme" envelope: …` — the entry by position and name, then the field. */
function describeIssue(value: unknown, issue: z.core.$ZodIssue, names: "any" | "valid"): string {
  const [index, ...rest] = issue.path;
  if (typeof index !== "number") return `${issue.path.join(".") || "(the list)"}: ${issue.message}`;
  const entry = Array.isArray(value) ? (value[index] as { name?: unknown } | undefined) : undefined;
  const shown = typeof entry?.name === "string" && (names === "any" || SHOWN_NAME.test(entry.name));
  const name = shown ? ` "${entry?.name}"` : "";
  const field = rest.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
  const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
  return `[${index}]${name}${field ? ` ${field.replace(/\.\[/g, "[")}` : ""}: ${issue.message}${keys}`;
}
