import { readFileSync } from "node:fs";
import { WebhookProviders } from "@hookstream/contracts";
import { z } from "zod";

/**
 * `WEBHOOK_PROVIDERS`: a JSON array of providers, or `@path/to/file.json` holding one
 * (a file keeps secrets out of the process list and suits a mounted Secret). Unset or
 * empty: no sender besides OpenAI. Every problem names its field, e.g.
 * `WEBHOOK_PROVIDERS: [1] "acme" envelope: Invalid option: expected one of "openai"|"standard"`.
 */
export function providersVar() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): WebhookProviders => {
      if (raw === undefined || raw.trim() === "") return [];
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
          return problem(`cannot read ${path}: ${(err as Error).message}`);
        }
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return problem(
          `not JSON (a list of { name, secrets, envelope, toleranceSec? }): ${(err as Error).message}`,
        );
      }
      const parsed = WebhookProviders.safeParse(value);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues)
        ctx.addIssue({ code: "custom", message: describeIssue(value, issue) });
      return z.NEVER;
    });
}

/** `[1] "acme" envelope: …` — the entry by position and name, then the field. */
function describeIssue(value: unknown, issue: z.core.$ZodIssue): string {
  const [index, ...rest] = issue.path;
  if (typeof index !== "number") return `${issue.path.join(".") || "(the list)"}: ${issue.message}`;
  const entry = Array.isArray(value) ? (value[index] as { name?: unknown } | undefined) : undefined;
  const name = typeof entry?.name === "string" ? ` "${entry.name}"` : "";
  const field = rest.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
  const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
  return `[${index}]${name}${field ? ` ${field.replace(/\.\[/g, "[")}` : ""}: ${issue.message}${keys}`;
}
