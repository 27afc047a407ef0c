import { z } from "zod";

/**
 * How one outbound attempt ended: `delivered` (2xx), `failed` (an answer other than
 * 2xx, a redirect, a timeout or a network error), `paused` (not sent: the destination's
 * circuit breaker was open; records from before the delivery service), `dead` (the
 * failed attempt that exhausted the destination's retry policy: dead-lettered).
 */
export const DELIVERY_OUTCOMES = ["delivered", "failed", "paused", "dead"] as const;
export const DeliveryOutcome = z.enum(DELIVERY_OUTCOMES);
export type DeliveryOutcome = z.infer<typeof DeliveryOutcome>;

/**
 * One attempt at one event to one destination, published by the delivery service on
 * `deliveries.delivery.<destination>` (stream WEBHOOK_DELIVERIES) and recorded by the
 * audit in `webhook_deliveries`.
 */
export const DeliveryRecord = z.object({
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  /** the handler whose notification it was; for a raw event, its provider */
  handler: z.string().min(1),
  /** the destination's name (null in records from before the delivery service) */
  destination: z.string().min(1).nullable().default(null),
  url: z.string().min(1),
  /** the `webhook-id` we sent: one per event and destination, the same on every retry */
  webhook_id: z.string().min(1),
  /** the attempt at this event for this destination (1 = first) */
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
