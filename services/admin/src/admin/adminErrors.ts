import { HttpError, inputErrorOf, RateLimitedError, UnavailableError } from "@hookstream/runtime";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

// The admin API answers coded errors of the one HTTP shell (packages/runtime).
export { BadRequestError, ConflictError, NotFoundError } from "@hookstream/runtime";

/**
 * The error handler of the admin API and the console's API: coded errors as they
 * are (with Retry-After when they carry one), input a route's schema refused as 400
 * `invalid_<parameter>`, Fastify's other 4xx as `bad_request`, and anything else as
 * 503 — an admin request fails when Postgres or NATS is away, and is worth trying
 * again. That answer never carries the error's own text (a driver's message holds the
 * SQL): the log has it, under the request's id, which the answer names.
 */
export function adminErrorHandler(what: string) {
  return (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    const coded = err instanceof HttpError ? err : inputErrorOf(err);
    if (coded) {
      const retry =
        coded instanceof RateLimitedError || coded instanceof UnavailableError
          ? coded.retryAfterSec
          : undefined;
      if (retry !== undefined) reply.header("retry-after", String(retry));
      return reply.code(coded.statusCode).send({ error: coded.code, message: coded.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: "bad_request", message: err.message });
    }
    req.log.error({ err, request_id: req.id }, what);
    return reply.code(503).send({
      error: "unavailable",
      message: `could not complete the request (Postgres or NATS may be away); the admin service's log has the reason under request_id ${req.id}`,
    });
  };
}
