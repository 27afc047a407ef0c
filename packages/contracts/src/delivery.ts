import { z } from "zod";

/**
 * How one outbound notification attempt ended: `delivered` (2xx), `failed` (an
 * answer other than 2xx, a timeout or a network error), `paused` (not sent: the
 * destination's circuit breaker is open).
 */
export const DELIVERY_OUTCOMES = ["delivered", "failed", "paused"] as const;
export const DeliveryOutcome = z.enum(DELIVERY_OUTCOMES);
export type DeliveryOutcome = z.infer<typeof DeliveryOutcome>;

/**
 * One attempt at one notification, published by the handler on `deliveries.<handler>`
 * (stream WEBHOOK_DELIVERIES) and recorded by the audit in `webhook_deliveries`.
 */
export const DeliveryRecord = z.object({
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  handler: z.string().min(1),
  url: z.string().min(1),
  /** the `webhook-id` we sent: one per event and destination, the same on every retry */
  webhook_id: z.string().min(1),
  /** the handler's delivery count of the event (1 = first) */
  attempt: z.number().int().min(1),
  /** the HTTP status answered; null when no answer came (timeout, network, paused) */
  status_code: z.number().int().nullable(),
  latency_ms: z.number().nonnegative(),
  error: z.string().nullable(),
  outcome: DeliveryOutcome,
  /** when the attempt started (ISO-8601) */
  at: z.string(),
});
export type DeliveryRecord = z.infer<typeof DeliveryRecord>;
