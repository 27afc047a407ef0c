/** An admin request that names something that does not exist: answered 404. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  readonly code = "not_found";
}

/** An admin request that cannot be done as asked: answered 400. */
export class BadRequestError extends Error {
  override readonly name = "BadRequestError";
  readonly code = "bad_request";
}
