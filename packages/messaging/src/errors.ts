/** Worth trying again later: the network, a 5xx, a 429, a timeout, the database being down. */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  /** the earliest a retry makes sense (a Retry-After, a lease that has yet to expire) */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Will fail the same way every time: a 4xx, a malformed message. Dead-lettered at once. */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Not a failure: the message goes back to the stream (another instance, or this one
 * later) without counting as a failed attempt: no outcome, no dead letter, even on
 * its last delivery. A service stopping while it waits for another holder's lease.
 */
export class HandBackError extends Error {
  override readonly name = "HandBackError";
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

export function isPermanentError(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
