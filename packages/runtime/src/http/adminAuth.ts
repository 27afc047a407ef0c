import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { FailureLimiter } from "./failureLimiter";
import { ForbiddenError, RateLimitedError, UnauthorizedError, UnavailableError } from "./httpErrors";

declare module "fastify" {
  interface FastifyRequest {
    /** the label of the admin token that authenticated the request (`admin` for ADMIN_TOKEN) */
    adminLabel?: string;
  }
}

export interface AdminToken {
  label: string;
  token: string;
}

/** `ADMIN_TOKEN` (label `admin`) plus `ADMIN_TOKENS` entries `label:token`. */
export function adminTokens(config: {
  ADMIN_TOKEN?: string | undefined;
  ADMIN_TOKENS?: string[];
}): AdminToken[] {
  const tokens: AdminToken[] = [];
  if (config.ADMIN_TOKEN) tokens.push({ label: "admin", token: config.ADMIN_TOKEN });
  for (const entry of config.ADMIN_TOKENS ?? []) {
    const at = entry.indexOf(":");
    tokens.push({ label: entry.slice(0, at), token: entry.slice(at + 1) });
  }
  return tokens;
}

/** Constant-time comparison that does not stop at the first differing byte. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // compare equal lengths even when they differ, so the time does not tell the length
  const equal = timingSafeEqual(a.length === b.length ? a : b, b);
  return a.length === b.length && equal;
}

/** The label of the token that matches, else null; every token is compared (no early exit). */
export function matchAdminToken(tokens: AdminToken[], given: string): string | null {
  let label: string | null = null;
  for (const t of tokens) if (sameSecret(given, t.token) && label === null) label = t.label;
  return label;
}

export interface AdminAuthOptions {
  tokens: AdminToken[];
  failureBurst: number;
  failuresPerSec: number;
  now?: () => number;
  /** development only: where `npm start` left its token, said to a request without one */
  devTokenFile?: string | undefined;
}

/** The sentence a request without a token gets on a developer machine; the console shows it. */
export function devTokenHint(file: string): string {
  return `npm start's development token is in ${file} (ADMIN_TOKEN=…)`;
}

/**
 * A hook for admin routes: no token configured → 503 `admin_disabled` (an open replay
 * endpoint would let anyone re-run side effects); no bearer token → 401; a wrong one →
 * 403; too many failures from one address → 429 (a bucket of failed attempts, like the
 * gateway's for signatures). Sets `request.adminLabel` for the audit trail.
 */
export function adminAuth(opts: AdminAuthOptions) {
  const limiter = new FailureLimiter(opts.failureBurst, opts.failuresPerSec);
  const now = opts.now ?? Date.now;
  return async function requireAdmin(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (opts.tokens.length === 0) {
      throw new UnavailableError(
        "the admin API is off: set ADMIN_TOKEN on the service to enable it",
        "admin_disabled",
      );
    }
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
    const given = match?.[1]?.trim() ?? "";
    const label = given ? matchAdminToken(opts.tokens, given) : null;
    if (label !== null) {
      req.adminLabel = label;
      return;
    }
    if (!limiter.allowFailure(req.ip, now())) {
      throw new RateLimitedError(
        "too many requests with a wrong admin token from this address",
        limiter.retryAfterSec(),
      );
    }
    if (!given) {
      reply.header("www-authenticate", "Bearer");
      const hint = opts.devTokenFile ? `; ${devTokenHint(opts.devTokenFile)}` : "";
      throw new UnauthorizedError(`missing Authorization: Bearer <ADMIN_TOKEN>${hint}`);
    }
    throw new ForbiddenError("wrong admin token");
  };
}
