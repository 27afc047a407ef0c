/** The retry policy of one durable consumer. */
export interface RetryPolicy {
  /** deliveries in all, the first included; the last failed one is dead-lettered */
  maxDeliver: number;
  /** nak delay after the first failed delivery; doubles each time, with full jitter */
  baseDelayMs: number;
  maxDelayMs: number;
  /** how long the server waits for an ack (or an in-progress ping) before redelivering */
  ackWaitMs: number;
}

export interface HandlerSpec {
  /** service name = durable consumer name (contract) */
  durable: string;
  /** the event-type prefix it consumes, e.g. `fine_tuning` → `webhooks.openai.fine_tuning.>` */
  domain: string;
  retry: RetryPolicy;
}

/**
 * Defaults chosen for OpenAI: it retries a webhook for 72 h itself, but once we
 * answered 200 the retries are ours. 8 deliveries with 2 s doubling to a 5 min cap
 * ride out an outage of ~10 min before a message is dead-lettered and needs a replay.
 */
export const DEFAULT_RETRY = {
  maxDeliver: 8,
  baseDelayMs: 2_000,
  maxDelayMs: 300_000,
  ackWaitMs: 30_000,
} as const satisfies RetryPolicy;

/** One entry per domain handler: adding a domain is one line here and one service. */
export const HANDLERS = {
  "fine-tuning": { durable: "fine-tuning", domain: "fine_tuning", retry: DEFAULT_RETRY },
  batch: { durable: "batch", domain: "batch", retry: DEFAULT_RETRY },
  response: { durable: "response", domain: "response", retry: DEFAULT_RETRY },
} as const satisfies Record<string, HandlerSpec>;

export type HandlerName = keyof typeof HANDLERS;
export const HANDLER_NAMES = Object.keys(HANDLERS) as HandlerName[];

export function isHandlerName(name: string): name is HandlerName {
  return Object.hasOwn(HANDLERS, name);
}

/** The handler that consumes an event type, or null (the event is then recorded `ignored`). */
export function handlerForType(eventType: string): HandlerName | null {
  for (const name of HANDLER_NAMES) {
    if (eventType.startsWith(`${HANDLERS[name].domain}.`)) return name;
  }
  return null;
}
