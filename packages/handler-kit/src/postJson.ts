import { PermanentError, RetryableError } from "@hookstream/messaging";
import { postOutbound } from "@hookstream/runtime";
import { isRetryableStatus } from "./classifyError";

export interface PostJsonOptions {
  /** sent as `Idempotency-Key`: the event id, so a receiver can drop our retries */
  idempotencyKey: string;
  timeoutMs: number;
  /** more headers from the exact body text sent (the Standard Webhooks signature: notify/) */
  sign?: (body: string) => Record<string, string>;
  /** told the status of the answer, whatever it is (the delivery log) */
  onStatus?: (status: number) => void;
}

/**
 * POSTs JSON to an outbound target through the runtime's postOutbound (the trace
 * carried on, redirects not followed, the answer read up to a bound, the URL masked in
 * every message). 5xx, 408, 429, 3xx, timeouts and network errors are retryable,
 * other 4xx permanent.
 */
export async function postJson(url: string, body: unknown, opts: PostJsonOptions): Promise<void> {
  const text = JSON.stringify(body);
  const res = await postOutbound({
    url,
    body: text,
    timeoutMs: opts.timeoutMs,
    headers: {
      "content-type": "application/json",
      "idempotency-key": opts.idempotencyKey,
      ...opts.sign?.(text),
    },
  });
  if (res.status !== null) opts.onStatus?.(res.status);
  if (res.ok) return;
  // a redirect may be fixed at the receiver's end: tried again like a 5xx
  if (res.reason !== "status" || isRetryableStatus(res.status ?? 0)) throw new RetryableError(res.message);
  throw new PermanentError(res.message);
}
