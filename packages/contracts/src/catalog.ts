import { DEFAULT_RETRY, HANDLERS, type HandlerName, type RetryPolicy } from "./handlers";
import type { Topology } from "./topology";

/**
 * The catalog: every durable consumer and every service of the system, in one
 * place. Provisioning, the consumer gauges, the replay and advisory paths and the
 * deploy manifests read names, filters and policies from here; no durable name or
 * filter subject is spelled anywhere else.
 */

export type StreamKey = keyof Topology["streams"];

/** What a durable's messages are, so that the code consuming it knows how to settle and report. */
export type DurableKind =
  /** OpenAI events on WEBHOOKS, one domain */
  | "events"
  /** the same events replayed to one handler on WEBHOOK_REPLAYS (outcomes say `replay: true`) */
  | "replays"
  /** the server's MAX_DELIVERIES advisories of an events or replays durable */
  | "advisories"
  /** every WEBHOOKS message, into the audit table */
  | "audit"
  /** handler outcomes, folded into the audit table */
  | "outcomes"
  /** fine-tuning job snapshots, folded into the projection */
  | "snapshots"
  /** outbound notification attempts, into the audit's delivery log */
  | "deliveries";

export interface DurableSpec {
  kind: DurableKind;
  stream: StreamKey;
  /** the consumer's filter subject, from the namespace's topology */
  filter: (t: Topology) => string;
  retry: RetryPolicy;
  /** messages delivered and not yet acked, across every instance */
  maxAckPending: number;
  /** for advisories: the durable whose deliveries they report */
  reports?: string;
}

/**
 * Audit and projection writes are idempotent and only fail while Postgres is away:
 * unlimited deliveries, short delays, so an outage delays work and never dead-letters it.
 */
export const STORE_RETRY = {
  maxDeliver: -1,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  ackWaitMs: 30_000,
} as const satisfies RetryPolicy;

/** Advisories are recorded once; a failure to record one is retried forever. */
const ADVISORY_RETRY = { ...STORE_RETRY, maxDeliver: -1 } as const satisfies RetryPolicy;

/** `fine-tuning`, `fine-tuning-replay`, `fine-tuning-advisories`, `fine-tuning-replay-advisories`. */
function handlerDurables<H extends HandlerName>(handler: H) {
  const domain = HANDLERS[handler].domain;
  return {
    [handler]: {
      kind: "events",
      stream: "webhooks",
      filter: (t: Topology) => `${t.subjects.openaiPrefix}.${domain}.>`,
      retry: DEFAULT_RETRY,
      maxAckPending: 1_000,
    },
    [`${handler}-replay`]: {
      kind: "replays",
      stream: "replays",
      filter: (t: Topology) => `${t.subjects.replaysPrefix}.${handler}.>`,
      retry: DEFAULT_RETRY,
      maxAckPending: 1_000,
    },
    [`${handler}-advisories`]: {
      kind: "advisories",
      stream: "advisories",
      filter: (t: Topology) => `${t.subjects.maxDeliveriesAdvisory}.${handler}`,
      retry: ADVISORY_RETRY,
      maxAckPending: 100,
      reports: handler,
    },
    [`${handler}-replay-advisories`]: {
      kind: "advisories",
      stream: "advisories",
      filter: (t: Topology) => `${t.subjects.maxDeliveriesReplayAdvisory}.${handler}-replay`,
      retry: ADVISORY_RETRY,
      maxAckPending: 100,
      reports: `${handler}-replay`,
    },
  } as Record<H | `${H}-replay` | `${H}-advisories` | `${H}-replay-advisories`, DurableSpec>;
}

export const CONSUMERS = {
  audit: {
    kind: "audit",
    stream: "webhooks",
    filter: (t) => t.subjects.webhooksAll,
    retry: STORE_RETRY,
    // a few instances with two batches in flight each
    maxAckPending: 8_000,
  },
  "audit-outcomes": {
    kind: "outcomes",
    stream: "outcomes",
    filter: (t) => `${t.subjects.outcomesPrefix}.>`,
    retry: STORE_RETRY,
    maxAckPending: 8_000,
  },
  "audit-deliveries": {
    kind: "deliveries",
    stream: "deliveries",
    filter: (t) => `${t.subjects.deliveriesPrefix}.>`,
    retry: STORE_RETRY,
    maxAckPending: 4_000,
  },
  "fine-tune": {
    kind: "snapshots",
    stream: "fineTuning",
    filter: (t) => `${t.subjects.fineTuningPrefix}.>`,
    retry: STORE_RETRY,
    maxAckPending: 4_000,
  },
  ...handlerDurables("fine-tuning"),
  ...handlerDurables("batch"),
  ...handlerDurables("response"),
} satisfies Record<string, DurableSpec>;

export type DurableName = keyof typeof CONSUMERS;

export interface ServiceSpec {
  /** the HTTP port's variable and its default (contract) */
  portVar: string;
  defaultPort: number;
  /** the durables the service consumes; every instance binds to the same ones */
  durables: readonly DurableName[];
  /** the streams /readyz requires */
  streams: readonly StreamKey[];
  /** has a database (created if missing, migrated at start) */
  database: boolean;
  /**
   * May change an existing stream's settings. Every service creates a missing stream
   * with the same settings; only the owner updates one that differs, so a consumer's
   * restart never narrows retention (the others log the difference instead).
   */
  ownsStreams: boolean;
  /** the domain handler it runs, if it is one */
  handler?: HandlerName;
}

function handlerService(handler: HandlerName, portVar: string, defaultPort: number) {
  return {
    portVar,
    defaultPort,
    durables: [handler, `${handler}-replay`, `${handler}-advisories`, `${handler}-replay-advisories`],
    streams: ["webhooks", "replays"],
    database: true,
    ownsStreams: false,
    handler,
  } as const satisfies ServiceSpec;
}

export const SERVICES = {
  gateway: {
    portVar: "GATEWAY_PORT",
    defaultPort: 3000,
    durables: [],
    streams: ["webhooks"],
    database: false,
    ownsStreams: true,
  },
  audit: {
    portVar: "AUDIT_PORT",
    defaultPort: 3001,
    durables: ["audit", "audit-outcomes", "audit-deliveries"],
    streams: ["webhooks", "outcomes", "dlq", "deliveries"],
    database: true,
    ownsStreams: false,
  },
  "fine-tuning-handler": handlerService("fine-tuning", "FINE_TUNING_HANDLER_PORT", 3002),
  "batch-handler": handlerService("batch", "BATCH_HANDLER_PORT", 3003),
  "response-handler": handlerService("response", "RESPONSE_HANDLER_PORT", 3004),
  "fine-tune": {
    portVar: "FINE_TUNE_PORT",
    defaultPort: 3005,
    durables: ["fine-tune"],
    streams: ["fineTuning"],
    database: true,
    ownsStreams: false,
  },
} as const satisfies Record<string, ServiceSpec>;

export type ServiceName = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** The stream name and filter subject of a durable in one namespace. */
export function durableBinding(topology: Topology, durable: DurableName) {
  const spec: DurableSpec = CONSUMERS[durable];
  return { durable, stream: topology.streams[spec.stream], filterSubject: spec.filter(topology), spec };
}

/** The service that runs a domain handler (`fine-tuning` → `fine-tuning-handler`). */
export function handlerServiceName(handler: HandlerName): ServiceName {
  return `${handler}-handler`;
}

/** Durable names of the services that are not domain handlers (contract). */
export const DURABLES = {
  audit: "audit",
  auditOutcomes: "audit-outcomes",
  auditDeliveries: "audit-deliveries",
  fineTune: "fine-tune",
} as const satisfies Record<string, DurableName>;

/**
 * The durable a handler uses for replays: `replay <event_id> --handler H` and
 * `dlq replay` publish the original message to `replay.<handler>.<type>` (stream
 * WEBHOOK_REPLAYS) with the original headers plus `Replay-Force`, and only that
 * handler's `<handler>-replay` consumer sees it — other handlers are untouched.
 */
export function replayDurable<H extends HandlerName>(handler: H): `${H}-replay` & DurableName {
  return `${handler}-replay` as `${H}-replay` & DurableName;
}
