import type { ResolvedDestination } from "@hookstream/contracts";
import { postOutbound } from "@hookstream/runtime";
import type { DeliveryEvent } from "../routing/readEvent";
import { notificationId, signedHeaders } from "./signRequest";

export interface AttemptResult {
  ok: boolean;
  /** the HTTP status answered; null when none came (timeout, network, refused) */
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** the `webhook-id` sent */
  webhookId: string;
  /** the trace the request went out in (the event's, continued), for log lines */
  traceId?: string | undefined;
}

const utf8 = new TextDecoder();

/**
 * Our `webhook-id` for one event to one destination: the same on every retry and every
 * instance. A notification keeps the id NOTIFY_URLS receivers had before the delivery
 * service (event id + URL); a raw event's includes its provider (two senders may share an id).
 */
export function webhookIdOf(dest: ResolvedDestination, ev: DeliveryEvent): string {
  const { eventId, provider } = ev.facts;
  if (dest.source === "events") return notificationId(`${provider}:${eventId}`, dest.url);
  return notificationId(dest.body === "deploy" ? `${eventId}:deploy` : eventId, dest.url);
}

/** The text sent: the body as published (byte for byte), or the deploy hook's `{ job_id, fine_tuned_model }`. */
export function bodyOf(dest: ResolvedDestination, ev: DeliveryEvent): string {
  if (dest.body === "deploy") {
    const n = (ev.json() ?? {}) as { resource_id?: unknown; fine_tuned_model?: unknown };
    return JSON.stringify({ job_id: n.resource_id ?? null, fine_tuned_model: n.fine_tuned_model ?? null });
  }
  return utf8.decode(ev.data);
}

/**
 * One HTTP attempt through the runtime's postOutbound (redirects are failed attempts,
 * the answer read up to a bound, the URL masked in every message): the destination's
 * headers, `Idempotency-Key` (event id), `webhook-id` and `webhook-timestamp` always,
 * `webhook-signature` when it has a secret (Standard Webhooks). Never throws.
 */
export async function sendAttempt(
  dest: ResolvedDestination,
  ev: DeliveryEvent,
  nowMs: number,
): Promise<AttemptResult> {
  const webhookId = webhookIdOf(dest, ev);
  const text = bodyOf(dest, ev);
  const timestamp = Math.floor(nowMs / 1000);
  const started = performance.now();
  const res = await postOutbound({
    url: dest.url,
    body: text,
    timeoutMs: dest.retry.timeoutMs,
    // the event's trace, continued by hand (the service runs without async trace context)
    traceOf: ev.headers,
    headers: {
      ...dest.headers,
      "content-type": "application/json",
      "idempotency-key": ev.facts.eventId,
      ...(dest.secret
        ? signedHeaders(dest.secret, webhookId, timestamp, text)
        : { "webhook-id": webhookId, "webhook-timestamp": String(timestamp) }),
    },
  });
  const latencyMs = performance.now() - started;
  return res.ok
    ? { ok: true, statusCode: res.status, latencyMs, error: null, webhookId, traceId: res.traceId }
    : { ok: false, statusCode: res.status, latencyMs, error: res.message, webhookId, traceId: res.traceId };
}
