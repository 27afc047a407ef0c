/**
 * Errors a route throws to answer with a status and the JSON error body every
 * service uses (`{ "error": "<code>", "message": "…" }`). The one error handler of
 * createHttpApp maps them; anything else is a 500 that is logged.
 */
export class HttpError extends Error {
  override readonly name: string = "HttpError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The request cannot be done as asked: 400. */
export class BadRequestError extends HttpError {
  override readonly name: string = "BadRequestError";
  constructor(message: string, code = "bad_request") {
    super(400, code, message);
  }
}

/** Missing or wrong credentials: 401. */
export class UnauthorizedError extends HttpError {
  override readonly name = "UnauthorizedError";
  constructor(message: string, code = "unauthorized") {
    super(401, code, message);
  }
}

/** Credentials given but not accepted: 403. */
export class ForbiddenError extends HttpError {
  override readonly name = "ForbiddenError";
  constructor(message: string, code = "forbidden") {
    super(403, code, message);
  }
}

/** Names something that does not exist: 404. */
export class NotFoundError extends HttpError {
  override readonly name = "NotFoundError";
  constructor(message: string, code = "not_found") {
    super(404, code, message);
  }
}

/** Conflicts with work under way (a rebuild already running): 409. */
export class ConflictError extends HttpError {
  override readonly name = "ConflictError";
  constructor(message: string, code = "conflict") {
    super(409, code, message);
  }
}

/** Too many failed attempts: 429 with Retry-After. */
export class RateLimitedError extends HttpError {
  override readonly name = "RateLimitedError";
  constructor(
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(429, "rate_limited", message);
  }
}

/** A dependency is away or a feature is switched off: 503, with Retry-After when it is worth retrying. */
export class UnavailableError extends HttpError {
  override readonly name = "UnavailableError";
  constructor(
    message: string,
    code = "unavailable",
    readonly retryAfterSec?: number,
  ) {
    super(503, code, message);
  }
}

export function isHttpError(err: unknown): err is HttpError {
  return err instanceof HttpError;
}
