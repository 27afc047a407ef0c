import type { z } from "zod";
import { BadRequestError } from "./httpErrors";

/** Where a route's input comes from. */
export type InputPart = "params" | "query" | "body";

/**
 * The value parsed by its schema, or a 400 whose code names the first parameter at
 * fault (`invalid_cursor`, `invalid_resourceId`; `invalid_body` / `invalid_query` when
 * the whole is wrong) and whose message lists every issue. Nothing else is echoed:
 * no SQL, no stack, only the schema's words.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const first = r.error.issues[0]?.path[0];
  const name = typeof first === "string" ? first : part;
  const issues = r.error.issues.map((i) => `${i.path.join(".") || part}: ${i.message}`).join("; ");
  throw new BadRequestError(issues, `invalid_${name}`);
}
