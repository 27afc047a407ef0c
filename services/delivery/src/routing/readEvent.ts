import {
  MessageHeader,
  NotificationHeader,
  OPENAI_PROVIDER,
  providerOfSubject,
  ReplayHeader,
  resourceOf,
  type Topology,
} from "@hookstream/contracts";
import type { JsMsg } from "@nats-io/jetstream";
import type { EventFacts } from "./matchFilter";

/** A message of a destination's durable, read once: its facts and its body parsed on demand. */
export interface DeliveryEvent {
  facts: EventFacts;
  /** the bytes to send for an `as-is` destination */
  data: Uint8Array;
  /** the body as JSON, parsed at most once (null when it is not JSON) */
  json(): unknown;
  /** `<resource type>:<resource id>` (ordering), or null when the event names none */
  resource(): string | null;
  /** when the message was stored (epoch ms): the retry policy's maxAgeMs counts from here */
  storedAtMs: number;
  /** the message's headers: its `traceparent`, which the attempt's request carries on */
  headers?: JsMsg["headers"];
}

const utf8 = new TextDecoder();

function lazyJson(data: Uint8Array): () => unknown {
  let parsed: { value: unknown } | null = null;
  return () => {
    if (!parsed) {
      try {
        parsed = { value: JSON.parse(utf8.decode(data)) };
      } catch {
        parsed = { value: null };
      }
    }
    return parsed.value;
  };
}

function resourceKey(type: string | null | undefined, id: string | null | undefined): string | null {
  return id ? `${type ?? "resource"}:${id}` : null;
}

/**
 * Facts of a notification (`notifications.<handler>.<type>`, headers from
 * publishNotification) or of a raw event (`webhooks.<provider>.<type>`: `Nats-Msg-Id`
 * is the event id, `Event-Type` its type, the resource the one the audit extracts).
 */
export function readEvent(topology: Topology, msg: JsMsg, source: "notifications" | "events"): DeliveryEvent {
  return readMessage(topology, msg, msg.subject, source);
}

/**
 * A destination's redriven dead letter (`replay.delivery.<name>.<type>`, its redrive
 * durable): the same facts as the event had on its first way out, read from the subject
 * and event id the redrive carries in `Replay-Original-Subject` and `Replay-Event-Id`
 * (the dead letter lost `Nats-Msg-Id`). The retry policy starts afresh: `storedAtMs` is
 * when it was redriven. A message redriven before those headers existed falls back to
 * its type from the subject and its id from the notification header or the body.
 */
export function readRedriven(
  topology: Topology,
  msg: JsMsg,
  source: "notifications" | "events",
): DeliveryEvent {
  const h = msg.headers;
  const original = h?.get(ReplayHeader.OriginalSubject) || null;
  const ev = readMessage(topology, msg, original ?? msg.subject, source);
  const eventId = h?.get(ReplayHeader.EventId) || null;
  if (original !== null) return eventId ? { ...ev, facts: { ...ev.facts, eventId } } : ev;
  // replay.delivery.<name>.<type>
  const type = msg.subject
    .split(".")
    .slice(topology.subjects.replaysPrefix.split(".").length + 2)
    .join(".");
  const body = ev.json() as { id?: unknown; event_id?: unknown } | null;
  const bodyId =
    typeof body?.event_id === "string" ? body.event_id : typeof body?.id === "string" ? body.id : null;
  return {
    ...ev,
    facts: {
      eventId: eventId || h?.get(NotificationHeader.EventId) || bodyId || `seq-${msg.seq}`,
      eventType: h?.get(MessageHeader.EventType) || type,
      provider: OPENAI_PROVIDER,
      handler: null,
    },
  };
}

function readMessage(
  topology: Topology,
  msg: JsMsg,
  subject: string,
  source: "notifications" | "events",
): DeliveryEvent {
  const json = lazyJson(msg.data);
  const storedAtMs = Math.floor(msg.info.timestampNanos / 1e6);
  const h = msg.headers;
  if (source === "notifications") {
    const rest = subject.slice(topology.subjects.notificationsPrefix.length + 1);
    const dot = rest.indexOf(".");
    const handler = dot > 0 ? rest.slice(0, dot) : rest;
    const eventType = h?.get(NotificationHeader.EventType) || rest.slice(dot + 1);
    const eventId = h?.get(NotificationHeader.EventId) || h?.get(MessageHeader.MsgId) || `seq-${msg.seq}`;
    const resource = resourceKey(
      h?.get(NotificationHeader.ResourceType),
      h?.get(NotificationHeader.ResourceId),
    );
    return {
      facts: { eventId, eventType, provider: OPENAI_PROVIDER, handler },
      data: msg.data,
      json,
      resource: () => resource,
      storedAtMs,
      headers: h,
    };
  }
  const provider = providerOfSubject(topology, subject) ?? "unknown";
  const prefix = `${topology.subjects.webhooksAll.slice(0, -1)}${provider}.`;
  const eventType = h?.get(MessageHeader.EventType) || subject.slice(prefix.length);
  // the dedup key is `<provider>:<id>` beside OpenAI's bare id (contracts' eventKey)
  const key = h?.get(MessageHeader.MsgId) || `seq-${msg.seq}`;
  const eventId = key.startsWith(`${provider}:`) ? key.slice(provider.length + 1) : key;
  const resource = () => {
    const body = json() as { data?: unknown } | null;
    if (!body || typeof body !== "object" || !body.data || typeof body.data !== "object") return null;
    const ref = resourceOf({ type: eventType, data: body.data as Record<string, unknown> });
    return resourceKey(ref.resourceType, ref.resourceId);
  };
  return {
    facts: { eventId, eventType, provider, handler: null },
    data: msg.data,
    json,
    resource,
    storedAtMs,
    headers: h,
  };
}
