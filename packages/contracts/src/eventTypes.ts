/**
 * Every webhook event type OpenAI sends today, as listed by the official `openai`
 * SDK (resources/webhooks/webhooks.d.ts, openai@6.49.0). Types not in this list are
 * still accepted, published and audited; they simply have no handler.
 */
export const KNOWN_EVENT_TYPES = [
  "batch.cancelled",
  "batch.completed",
  "batch.expired",
  "batch.failed",
  "eval.run.canceled",
  "eval.run.failed",
  "eval.run.succeeded",
  "fine_tuning.job.cancelled",
  "fine_tuning.job.failed",
  "fine_tuning.job.succeeded",
  "realtime.call.incoming",
  "response.cancelled",
  "response.completed",
  "response.failed",
  "response.incomplete",
] as const;

export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

const known = new Set<string>(KNOWN_EVENT_TYPES);

export function isKnownEventType(type: string): type is KnownEventType {
  return known.has(type);
}
