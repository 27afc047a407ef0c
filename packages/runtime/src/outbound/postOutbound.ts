import { withClientSpan } from "@hookstream/observability";
import { maskUrl } from "./maskUrl";

/** Most bytes of a receiver's answer read (the rest is dropped, the connection closed). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OutboundRequest {
  url: string;
  /** the exact text sent (a signature covers these bytes) */
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** default MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
}

/** Why an attempt failed: an answer outside 2xx, a redirect, no answer in time, or none at all. */
export type OutboundFailure = "status" | "redirect" | "timeout" | "network";

export type OutboundResult =
  | { ok: true; status: number; body: Buffer; truncated: boolean }
  | {
      ok: false;
      reason: OutboundFailure;
      /** the status answered, null when none came */
      status: number | null;
      /** says what happened with the URL masked: safe for logs, the delivery log and DLQ headers */
      message: string;
      body: Buffer;
    };

/**
 * The one way hookstream calls out over HTTP (notifications, the deploy hook, delivery
 * destinations): a POST in a CLIENT span carrying the trace on, within `timeoutMs`.
 * - A redirect is not followed (`redirect: "manual"`): a 3xx is a failed attempt, as
 *   Standard Webhooks asks; following it would send the signed body wherever it points.
 * - At most `maxResponseBytes` of the answer are read: a receiver cannot hold memory
 *   or the attempt with an endless body.
 * - The URL shows only with its path masked, in the span and in every message.
 * Never throws: the result says how it went.
 */
export function postOutbound(req: OutboundRequest): Promise<OutboundResult> {
  const shown = maskUrl(req.url);
  let target: URL;
  try {
    target = new URL(req.url);
  } catch {
    return Promise.resolve({
      ok: false,
      reason: "network",
      status: null,
      message: `POST ${shown}: not a URL`,
      body: Buffer.alloc(0),
    });
  }
  return withClientSpan(
    `POST ${target.host}`,
    { "http.request.method": "POST", "server.address": target.hostname, "url.full": shown },
    async (traceHeaders, span): Promise<OutboundResult> => {
      const signal = AbortSignal.timeout(req.timeoutMs);
      const failed = (
        reason: OutboundFailure,
        status: number | null,
        message: string,
        body: Buffer = Buffer.alloc(0),
      ) => ({ ok: false, reason, status, message: `POST ${shown} ${message}`, body }) as const;
      let res: Response;
      try {
        res = await fetch(target, {
          method: "POST",
          headers: { ...req.headers, ...traceHeaders },
          body: req.body,
          redirect: "manual",
          signal,
        });
      } catch (err) {
        return signal.aborted
          ? failed("timeout", null, `got no answer within ${req.timeoutMs} ms`)
          : failed("network", null, `failed: ${causeOf(err)}`);
      }
      span.setAttribute("http.response.status_code", res.status);
      let read: { body: Buffer; truncated: boolean };
      try {
        read = await readBounded(res, req.maxResponseBytes ?? MAX_RESPONSE_BYTES);
      } catch {
        // the answer's status is known; a body cut short changes nothing about it
        read = { body: Buffer.alloc(0), truncated: true };
      }
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get("location");
        const to =
          location && URL.canParse(location, target.href) ? ` to ${maskUrl(new URL(location, target))}` : "";
        return failed(
          "redirect",
          res.status,
          `answered ${res.status} (a redirect${to}); redirects are not followed`,
          read.body,
        );
      }
      if (!res.ok) return failed("status", res.status, `answered ${res.status}`, read.body);
      return { ok: true, status: res.status, ...read };
    },
  );
}

/** Reads at most `max` bytes of the answer, then cancels the rest. */
async function readBounded(res: Response, max: number): Promise<{ body: Buffer; truncated: boolean }> {
  if (!res.body) return { body: Buffer.alloc(0), truncated: false };
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { body: Buffer.concat(chunks, size), truncated: false };
    const room = max - size;
    chunks.push(Buffer.from(value.buffer, value.byteOffset, Math.min(room, value.byteLength)));
    size += Math.min(room, value.byteLength);
    if (size >= max) {
      // the limit reached: whatever is left is dropped unread (said truncated even when
      // the answer happened to end exactly here)
      await reader.cancel().catch(() => undefined);
      return { body: Buffer.concat(chunks, size), truncated: true };
    }
  }
}

/** undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, …); never the URL. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === "string") return cause.code;
  if (cause && typeof cause.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}
