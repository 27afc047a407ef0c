import { PermanentError, RetryableError } from "@hookstream/messaging";
import { isRetryableStatus } from "./classifyError";

export interface PostJsonOptions {
  /** sent as `Idempotency-Key`: the event id, so a receiver can drop our retries */
  idempotencyKey: string;
  timeoutMs: number;
}

/** POSTs JSON to an outbound target; 5xx, 408, 429, timeouts and network errors are retryable, other 4xx permanent. */
export async function postJson(url: string, body: unknown, opts: PostJsonOptions): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": opts.idempotencyKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new RetryableError(`POST ${url} failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  // drain the body so the connection can be reused
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  const message = `POST ${url} answered ${res.status}`;
  if (isRetryableStatus(res.status)) throw new RetryableError(message);
  throw new PermanentError(message);
}
