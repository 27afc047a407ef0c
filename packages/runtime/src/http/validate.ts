import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import type { z } from "zod";
import { BadRequestError } from "./httpErrors";

/** Where a route's input comes from. */
export type InputPart = "params" | "query" | "body" | "headers";

/** One problem with a request's input: where (a path of names) and what. */
export interface InputIssue {
  path: string[];
  message: string;
}

/**
 * The 400 for a request whose input its schema refuses: the code names the first
 * parameter at fault (`invalid_cursor`, `invalid_resourceId`; `invalid_body` /
 * `invalid_query` when the whole is wrong) and the message lists every issue. Nothing
 * else is echoed: no SQL, no stack, only the schema's words.
 */
export function badInput(part: InputPart, issues: InputIssue[]): BadRequestError {
  const name = issues[0]?.path[0] ?? part;
  const text = issues.map((i) => `${i.path.join(".") || part}: ${i.message}`).join("; ");
  return new BadRequestError(text || `${part}: invalid`, `invalid_${name}`);
}

type UnionBranches = Array<Array<{ path: PropertyKey[]; message: string }>>;

/**
 * The issues of a union none of whose branches took the value, as those of the branch
 * that came closest (the fewest issues): `{ "resourceType": "batch" }` for an erasure is
 * a resource lacking its id, not an event lacking its id.
 */
function closestBranch(at: string[], branches: UnionBranches | undefined): InputIssue[] | null {
  const closest = [...(branches ?? [])].sort((a, b) => a.length - b.length)[0];
  if (!closest || closest.length === 0) return null;
  return closest.map((i) => ({ path: [...at, ...i.path.map(String)], message: i.message }));
}

/**
 * One zod issue as input issues: a union's as its closest branch's, a name the schema
 * does not know (a strict object's `unrecognized_keys`) as that name, so that the code
 * says `invalid_from` for `?from=…` on a route that takes no `from`.
 */
function issuesOf(
  path: string[],
  code: string,
  message: string,
  extra: { errors?: unknown; keys?: unknown },
): InputIssue[] {
  if (code === "invalid_union") {
    const union = closestBranch(path, extra.errors as UnionBranches | undefined);
    if (union) return union;
  }
  if (code === "unrecognized_keys" && Array.isArray(extra.keys)) {
    return extra.keys.map((k) => ({
      path: [...path, String(k)],
      message: "not a parameter this route takes",
    }));
  }
  return [{ path, message }];
}

/** The value parsed by its schema, or the 400 of badInput. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.flatMap((i) =>
    issuesOf(i.path.map(String), i.code, i.message, i as { errors?: unknown; keys?: unknown }),
  );
  throw badInput(part, issues);
}

const PART_OF: Record<string, InputPart> = {
  params: "params",
  querystring: "query",
  body: "body",
  headers: "headers",
};

/**
 * Fastify's answer to a route schema that refused the request (the zod validator of
 * every route, fastify-type-provider-zod), as the 400 of badInput; null for any other error.
 */
export function inputErrorOf(err: unknown): BadRequestError | null {
  if (!hasZodFastifySchemaValidationErrors(err)) return null;
  const part = PART_OF[(err as { validationContext?: string }).validationContext ?? ""] ?? "body";
  const issues = err.validation.flatMap((v) =>
    issuesOf(
      v.instancePath.split("/").filter(Boolean),
      v.keyword,
      v.message ?? "invalid",
      v.params as { errors?: unknown; keys?: unknown },
    ),
  );
  return badInput(part, issues);
}
