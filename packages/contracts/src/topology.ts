/**
 * Names of streams, subjects and durable consumers (contract), built from an
 * optional namespace so that tests and side-by-side installs on one shared NATS
 * server never overlap: namespace "" gives the contract names (`WEBHOOKS`,
 * `webhooks.openai.<type>`), namespace "t42" gives `t42_WEBHOOKS`, `t42.webhooks.openai.<type>`.
 */
export interface Topology {
  namespace: string;
  streams: {
    webhooks: string;
    fineTuning: string;
    outcomes: string;
    dlq: string;
    replays: string;
    /** captures the server's MAX_DELIVERIES advisories of WEBHOOKS and WEBHOOK_REPLAYS consumers */
    advisories: string;
    /** one record per outbound notification attempt (`deliveries.<handler>`), read by the audit */
    deliveries: string;
    /** the handlers' notifications as events (`notifications.<handler>.<type>`), read by the delivery service */
    notifications: string;
  };
  /** NATS KV buckets */
  buckets: {
    /** breaker and pause state of each destination, shared by every delivery instance */
    deliveryState: string;
    /**
     * one key per handler while a bulk replay to it runs, shared by every admin instance;
     * the bucket's max age (REPLAY_LOCK_TTL_MS) ends the lock of an instance that died
     */
    replayLocks: string;
  };
  subjects: {
    /** every subject of the WEBHOOKS stream */
    webhooksAll: string;
    /** `webhooks.openai` — an event goes to `${openaiPrefix}.${type}` */
    openaiPrefix: string;
    fineTuningPrefix: string;
    outcomesPrefix: string;
    dlqPrefix: string;
    replaysPrefix: string;
    /** `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<WEBHOOKS stream>.<consumer>` */
    maxDeliveriesAdvisory: string;
    maxDeliveriesReplayAdvisory: string;
    /** `deliveries` — a handler's delivery records go to `${deliveriesPrefix}.<handler>` */
    deliveriesPrefix: string;
    /** `notifications` — a handler's notification of an event goes to `${notificationsPrefix}.<handler>.<type>` */
    notificationsPrefix: string;
  };
}

const NAMESPACE_PATTERN = /^[a-z0-9_-]*$/i;

export function makeTopology(namespace = ""): Topology {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`namespace "${namespace}" may hold only letters, digits, '_' and '-'`);
  }
  const stream = (name: string) => (namespace ? `${namespace}_${name}` : name);
  const subject = (name: string) => (namespace ? `${namespace}.${name}` : name);
  return {
    namespace,
    streams: {
      webhooks: stream("WEBHOOKS"),
      fineTuning: stream("FINE_TUNING"),
      outcomes: stream("WEBHOOK_OUTCOMES"),
      dlq: stream("WEBHOOK_DLQ"),
      replays: stream("WEBHOOK_REPLAYS"),
      advisories: stream("WEBHOOK_ADVISORIES"),
      deliveries: stream("WEBHOOK_DELIVERIES"),
      notifications: stream("NOTIFICATIONS"),
    },
    buckets: {
      deliveryState: stream("DELIVERY_STATE"),
      replayLocks: stream("REPLAY_LOCKS"),
    },
    subjects: {
      webhooksAll: subject("webhooks.>"),
      openaiPrefix: subject("webhooks.openai"),
      fineTuningPrefix: subject("fine_tuning.jobs"),
      outcomesPrefix: subject("outcomes"),
      dlqPrefix: subject("dlq"),
      replaysPrefix: subject("replay"),
      maxDeliveriesAdvisory: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream("WEBHOOKS")}`,
      maxDeliveriesReplayAdvisory: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream("WEBHOOK_REPLAYS")}`,
      deliveriesPrefix: subject("deliveries"),
      notificationsPrefix: subject("notifications"),
    },
  };
}

/** `webhooks.openai.fine_tuning.job.succeeded` for `fine_tuning.job.succeeded`. */
export function eventSubject(topology: Topology, eventType: string): string {
  return `${topology.subjects.openaiPrefix}.${eventType}`;
}

/** The provider OpenAI's events come from: `POST /webhooks/openai`, subjects `webhooks.openai.<type>`. */
export const OPENAI_PROVIDER = "openai";

/**
 * `webhooks.<provider>.<type>` (docs/webhooks.md, "Senders beyond OpenAI"): `webhooks.acme.invoice.paid`
 * for provider `acme` and type `invoice.paid`. For `openai` it is eventSubject's subject.
 */
export function providerEventSubject(topology: Topology, provider: string, eventType: string): string {
  return `${topology.subjects.webhooksAll.slice(0, -1)}${provider}.${eventType}`;
}

/** The provider of a WEBHOOKS subject (`acme` for `webhooks.acme.invoice.paid`), or null for another subject. */
export function providerOfSubject(topology: Topology, subject: string): string | null {
  const prefix = topology.subjects.webhooksAll.slice(0, -1);
  if (!subject.startsWith(prefix)) return null;
  const dot = subject.indexOf(".", prefix.length);
  return dot > prefix.length ? subject.slice(prefix.length, dot) : null;
}

/** The event type back from a WEBHOOKS subject, or null when the subject is not an OpenAI event. */
export function eventTypeOfSubject(topology: Topology, subject: string): string | null {
  const prefix = `${topology.subjects.openaiPrefix}.`;
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : null;
}

export function jobSubject(topology: Topology, jobId: string): string {
  return `${topology.subjects.fineTuningPrefix}.${jobId}`;
}

export function outcomeSubject(topology: Topology, handler: string, status: string): string {
  return `${topology.subjects.outcomesPrefix}.${handler}.${status}`;
}

export function dlqSubject(topology: Topology, handler: string, eventType: string): string {
  return `${topology.subjects.dlqPrefix}.${handler}.${eventType}`;
}

export function replaySubject(topology: Topology, handler: string, eventType: string): string {
  return `${topology.subjects.replaysPrefix}.${handler}.${eventType}`;
}

/** `deliveries.<handler>`: the delivery records of one handler's outbound notifications. */
export function deliverySubject(topology: Topology, handler: string): string {
  return `${topology.subjects.deliveriesPrefix}.${handler}`;
}

/** `notifications.<handler>.<type>`: one handler's notification of one event (stream NOTIFICATIONS). */
export function notificationSubject(topology: Topology, handler: string, eventType: string): string {
  return `${topology.subjects.notificationsPrefix}.${handler}.${eventType}`;
}
