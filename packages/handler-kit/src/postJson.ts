import { PermanentError, RetryableError } from "@hookstream/messaging";
import { withClientSpan } from "@hookstream/observability";
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
 * POSTs JSON to an outbound target in a CLIENT span that carries the event's trace
 * on (`traceparent`); 5xx, 408, 429, timeouts and network errors are retryable,
 * other 4xx permanent.
 */
export function postJson(url: string, body: unknown, opts: PostJsonOptions): Promise<void> {
  const target = new URL(url);
  return withClientSpan(
    `POST ${target.host}`,
    { "http.request.method": "POST", "server.address": target.hostname, "url.path": target.pathname },
    async (traceHeaders, span) => {
      const text = JSON.stringify(body);
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: {
            ...traceHeaders,
            "content-type": "application/json",
            "idempotency-key": opts.idempotencyKey,
            ...opts.sign?.(text),
          },
          body: text,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        throw new RetryableError(`POST ${url} failed: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
      span.setAttribute("http.response.status_code", res.status);
      opts.onStatus?.(res.status);
      // drain the body so the connection can be reused
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      const message = `POST ${url} answered ${res.status}`;
      if (isRetryableStatus(res.status)) throw new RetryableError(message);
      throw new PermanentError(message);
    },
  );
}
