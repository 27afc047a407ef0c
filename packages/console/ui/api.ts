import { AdminError } from "@hookstream/contracts";
import type { z } from "zod";

const TOKEN_KEY = "hookstream.adminToken";

/** The admin token lives in this tab's session only: closing the tab signs out. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Why a call failed, in the terms the page shows: each kind has its own screen or message. */
export type ApiFailure =
  | { kind: "disabled"; message: string }
  | { kind: "refused"; status: number; message: string }
  | { kind: "not_found"; message: string }
  | { kind: "bad_request"; message: string }
  | { kind: "unavailable"; status: number; message: string }
  | { kind: "network"; message: string }
  | { kind: "invalid"; message: string };

export class ApiError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.message);
  }
}

type Listener = (f: ApiFailure) => void;
const authListeners = new Set<Listener>();
/** called when the server refuses the token or says no token is configured */
export function onAuthFailure(l: Listener): () => void {
  authListeners.add(l);
  return () => authListeners.delete(l);
}

async function failureOf(res: Response): Promise<ApiFailure> {
  let message = `${res.status} ${res.statusText}`;
  let code = "";
  try {
    const body = AdminError.safeParse(await res.json());
    if (body.success) {
      message = body.data.message;
      code = body.data.error;
    }
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 503 && code === "admin_disabled") return { kind: "disabled", message };
  if (res.status === 401 || res.status === 403) return { kind: "refused", status: res.status, message };
  if (res.status === 404) return { kind: "not_found", message };
  if (res.status === 400) return { kind: "bad_request", message };
  return { kind: "unavailable", status: res.status, message };
}

export interface CallOptions {
  method?: "GET" | "POST";
  body?: unknown;
  query?: Record<string, string | undefined>;
  /** the token to send instead of the stored one (sign-in) */
  withToken?: string | null;
  signal?: AbortSignal;
  /**
   * the route's own schema of its query or body (packages/contracts, the one the server
   * validates with): checked before the call goes, and a refusal shown in its words
   */
  request?: z.ZodType;
}

export function withQuery(path: string, query: Record<string, string | undefined> = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") qs.set(k, v);
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/** Calls the audit and parses the answer with its contract schema; every failure is an ApiError. */
export async function call<S extends z.ZodType>(
  schema: S,
  path: string,
  opts: CallOptions = {},
): Promise<z.infer<S>> {
  if (opts.request) {
    const given =
      opts.body ??
      Object.fromEntries(Object.entries(opts.query ?? {}).filter(([, v]) => v !== undefined && v !== ""));
    const checked = opts.request.safeParse(given);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ApiError({
        kind: "bad_request",
        message: `${issue?.path.join(".") || "request"}: ${issue?.message ?? "invalid"}`,
      });
    }
  }
  const bearer = opts.withToken === undefined ? token.get() : opts.withToken;
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), {
      method: opts.method ?? "GET",
      headers: {
        accept: "application/json",
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError({
      kind: "network",
      message: "The audit service does not answer. Is it running? Check the address and try again.",
    });
  }
  if (!res.ok) {
    const failure = await failureOf(res);
    if ((failure.kind === "refused" || failure.kind === "disabled") && opts.withToken === undefined) {
      for (const l of authListeners) l(failure);
    }
    throw new ApiError(failure);
  }
  const parsed = schema.safeParse(await res.json());
  if (!parsed.success) {
    throw new ApiError({
      kind: "invalid",
      message: `The answer of ${path} is not what this console expects (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}). Is the console as new as the audit?`,
    });
  }
  return parsed.data;
}

export function describe(err: unknown): string {
  if (err instanceof ApiError) return err.failure.message;
  return err instanceof Error ? err.message : String(err);
}
