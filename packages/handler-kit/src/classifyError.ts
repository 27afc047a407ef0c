import { PermanentError, RetryableError } from "@hookstream/messaging";
import OpenAI from "openai";

/** HTTP statuses worth another try: a timeout, rate limiting, the server's own trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Maps an error of the openai SDK to our two classes: 429, 5xx, 408, timeouts and
 * network errors are retryable; any other 4xx (404 unknown job, 401 bad key) will
 * fail the same way every time and is permanent.
 */
export function classifyOpenAIError(err: unknown, what: string): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  if (err instanceof OpenAI.APIConnectionError) {
    return new RetryableError(`${what}: cannot reach the OpenAI API (${err.message})`, { cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    if (status === undefined || isRetryableStatus(status)) {
      return new RetryableError(`${what}: OpenAI answered ${status ?? "no status"}: ${err.message}`, {
        cause: err,
      });
    }
    return new PermanentError(`${what}: OpenAI answered ${status}: ${err.message}`, { cause: err });
  }
  return new RetryableError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
