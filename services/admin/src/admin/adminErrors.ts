import { HttpError, RateLimitedError, UnavailableError } from "@hookstream/runtime";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

// The admin API answers coded errors of the one HTTP shell (packages/runtime).
export { BadRequestError, ConflictError, NotFoundError } from "@hookstream/runtime";

/**
 * The error handler of the admin API and the console's API: coded errors as they
 * are (with Retry-After when they carry one), Fastify's 4xx as `bad_request`, and
 * anything else as 503 — an admin request fails when Postgres or NATS is away, and
 * is worth trying again.
 */
export function adminErrorHandler(what: string) {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      const retry =
        err instanceof RateLimitedError || err instanceof UnavailableError ? err.retryAfterSec : undefined;
      if (retry !== undefined) reply.header("retry-after", String(retry));
      return reply.code(err.statusCode).send({ error: err.code, message: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: "bad_request", message: err.message });
    }
    req.log.error({ err }, what);
    return reply.code(503).send({ error: "unavailable", message: `could not complete: ${err.message}` });
  };
}
