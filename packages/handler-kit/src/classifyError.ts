import { PermanentError, RetryableError } from "@hookstream/messaging";

/** HTTP statuses worth another try: a timeout, rate limiting, the server's own trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * True when `err` is an instance of the SDK's error class `name` (or a subclass), by
 * the class names on its prototype chain: the SDK is loaded lazily, only when there is
 * an API key, so its classes are not imported here.
 */
function isSdkError(
  err: unknown,
  name: "APIError" | "APIConnectionError",
): err is Error & { status?: number } {
  for (
    let proto = err === null || typeof err !== "object" ? null : Object.getPrototypeOf(err);
    proto;
    proto = Object.getPrototypeOf(proto)
  ) {
    if (proto.constructor?.name === name) return true;
  }
  return false;
}

/** Whose key made a call: a 401 or 403 names it, so the operator knows which key to check. */
export interface CallKey {
  project: string | null;
  /** where the key comes from: `OPENAI_API_KEY_RESEARCH`, a file path */
  keySource: string | null;
}

/**
 * Maps an error of the openai SDK to our two classes: 429, 5xx, 408, timeouts and
 * network errors are retryable; any other 4xx (404 unknown job, 401 bad key) will
 * fail the same way every time and is permanent. A 401 or 403 says which project's
 * key to check: with several projects, a key of the wrong project is the likely cause.
 */
export function classifyOpenAIError(
  err: unknown,
  what: string,
  key?: CallKey,
): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  if (isSdkError(err, "APIConnectionError")) {
    return new RetryableError(`${what}: cannot reach the OpenAI API (${err.message})`, { cause: err });
  }
  if (isSdkError(err, "APIError")) {
    const status = err.status;
    if (status === undefined || isRetryableStatus(status)) {
      return new RetryableError(`${what}: OpenAI answered ${status ?? "no status"}: ${err.message}`, {
        cause: err,
      });
    }
    const check =
      (status === 401 || status === 403) && key?.project
        ? `; check project ${key.project}'s key${key.keySource ? ` (${key.keySource})` : ""}`
        : "";
    return new PermanentError(`${what}: OpenAI answered ${status}: ${err.message}${check}`, { cause: err });
  }
  return new RetryableError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
