import { KNOWN_EVENT_TYPES } from "./eventTypes";

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

/** A secret a service reads from the `hookstream` Secret (Kubernetes) or the environment. */
export interface SecretRef {
  name: string;
  /** the service starts without it */
  optional?: boolean;
}

/**
 * One domain handler. Its service (`<name>-handler`), its four durable consumers,
 * its NATS user and its deploy objects are all built from this entry (catalog.ts,
 * `npm run generate`).
 */
export interface HandlerSpec {
  /**
   * The event-type prefix it consumes (`fine_tuning` → `webhooks.openai.fine_tuning.>`);
   * `npm run new:handler -- eval --types 'eval.run.*'` writes `eval.run`.
   */
  domain: string;
  /** its service's HTTP port; the variable is `<NAME>_HANDLER_PORT` (contract) */
  defaultPort: number;
  retry: RetryPolicy;
  /** subjects it publishes beyond its outcomes, dead letters and notifications */
  publishes?: readonly string[];
  /** secrets beyond every handler's (DATABASE_URL, OPENAI_API_KEY) */
  secrets?: readonly SecretRef[];
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

/**
 * One entry per domain handler: adding a domain is one entry here and its service
 * folder (`npm run new:handler -- <name> --types '<prefix>.*'` writes both, then
 * regenerates the deploy files; docs/architecture.md, "Adding a domain").
 */
export const HANDLERS = {
  "fine-tuning": {
    domain: "fine_tuning",
    defaultPort: 3002,
    retry: DEFAULT_RETRY,
    // the job snapshots the fine-tune projection folds
    publishes: ["fine_tuning.jobs.>"],
  },
  batch: { domain: "batch", defaultPort: 3003, retry: DEFAULT_RETRY },
  response: { domain: "response", defaultPort: 3004, retry: DEFAULT_RETRY },
  // new:handler adds entries above this line
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

/**
 * An event type no handler takes: the first type OpenAI sends that no domain claims,
 * else one of no domain at all. Tests and benchmarks use it for "recorded `ignored`";
 * adding a domain for it moves it on instead of breaking them.
 */
export const UNHANDLED_EVENT_TYPE: string =
  KNOWN_EVENT_TYPES.find((t) => handlerForType(t) === null) ?? "hookstream.unhandled.example";
