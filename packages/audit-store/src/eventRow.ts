import {
  eventTypeOfSubject,
  handlerForType,
  MessageHeader,
  OPENAI_PROVIDER,
  providerOfSubject,
  resourceOf,
  type Topology,
} from "@hookstream/contracts";
import { storableTime } from "@hookstream/db";
import { messageText } from "@hookstream/messaging";
import type { AuditStatus } from "./WebhookEvent";

/** What the audit needs of a WEBHOOKS message (a JsMsg reduced to plain data, for pure tests). */
export interface RawEventMessage {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  data: Uint8Array;
}

/** The columns the audit writes when it first sees an event. */
export interface EventInsertRow {
  eventId: string;
  eventType: string;
  webhookId: string | null;
  timestamp: Date | null;
  signature: string | null;
  headers: Record<string, string>;
  /**
   * The payload column as JSON text: the body itself when it parsed as an object (the
   * bytes that arrived are stored, never re-serialized), else `{ "raw": <text> }`. Text,
   * not the parsed object: a row waits for its batch to be written, and a parsed body
   * held that long was copied by every young-generation collection meanwhile.
   */
  payloadJson: string;
  status: AuditStatus;
  metadata: Record<string, unknown>;
  retryCount: number;
  resourceType: string | null;
  resourceId: string | null;
  streamSeq: number;
  subject: string;
  /**
   * the sender, from the subject `webhooks.<provider>.<type>` (`openai` for a subject
   * without one); with the event id, the event's identity (unique in the table)
   */
  provider: string;
  /** the OpenAI project, from the `Openai-Project` header; null for another provider */
  project?: string | null;
  createdAt: Date;
  updatedAt: Date;
}

// Postgres text and jsonb refuse U+0000; such a character would make the row fail forever.
const NUL = String.fromCharCode(0);
const clean = (s: string) => (s.includes(NUL) ? s.replaceAll(NUL, "\uFFFD") : s);

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The headers with U+0000 replaced; the same object when none has one (the usual case, no copy). */
function cleanHeaders(h: Record<string, string>): Record<string, string> {
  let dirty = false;
  for (const k in h) if ((h[k] as string).includes(NUL)) dirty = true;
  if (!dirty) return h;
  const out: Record<string, string> = {};
  for (const k in h) out[k] = clean(h[k] as string);
  return out;
}

/**
 * The time the webhook was signed, null when there is none or it is no time Postgres
 * can store: a body's `created_at` of 1e300 would otherwise fail its batch on every
 * delivery, and the audit, which never dead-letters, would retry it forever.
 */
function webhookTime(header: string | undefined, createdAt: unknown): Date | null {
  const seconds = header !== undefined && /^\d+$/.test(header) ? Number(header) : createdAt;
  return typeof seconds === "number" && storableTime(seconds * 1000) ? new Date(seconds * 1000) : null;
}

/**
 * The row of one WEBHOOKS message. Never fails: a body that is not a JSON object is
 * kept as `{ raw }` (the audit is the record of what arrived, so nothing is dropped).
 * The id of an OpenAI event comes from the body, else `Nats-Msg-Id`; another
 * provider's from `Webhook-Id`, else its `Nats-Msg-Id` (`<provider>:<id>`); else the
 * subject and seq. The type from
 * `Event-Type`, else the body, else the subject.
 */
export function eventRowOf(msg: RawEventMessage, topology: Topology, now: Date): EventInsertRow {
  const text = messageText(msg.data);
  // JSON may also spell U+0000 as an escape; such a body is kept raw
  const body = text.includes(NUL) || text.includes("\\u0000") ? null : parseObject(text);
  const data =
    body && typeof body.data === "object" && body.data !== null ? (body.data as Record<string, unknown>) : {};
  const headerType = msg.headers[MessageHeader.EventType];
  const eventType =
    headerType ||
    (typeof body?.type === "string" ? body.type : null) ||
    eventTypeOfSubject(topology, msg.subject) ||
    msg.subject;
  // only OpenAI events have handlers; another provider's id is its webhook-id
  const provider = providerOfSubject(topology, msg.subject) ?? OPENAI_PROVIDER;
  const foreign = provider !== OPENAI_PROVIDER;
  // the body's id first: a re-publish outside the duplicate window may carry another msg id
  const bodyId = typeof body?.id === "string" && body.id ? body.id : null;
  const eventId =
    (foreign
      ? msg.headers[MessageHeader.WebhookId] || idOfKey(provider, msg.headers[MessageHeader.MsgId]) || bodyId
      : bodyId || msg.headers[MessageHeader.MsgId]) || `${msg.subject}#${msg.seq}`;
  const { resourceType, resourceId } = resourceOf({ type: eventType, data });
  const headers = cleanHeaders(msg.headers);
  return {
    eventId: clean(eventId),
    eventType: clean(eventType),
    webhookId: msg.headers[MessageHeader.WebhookId] ?? null,
    timestamp: webhookTime(msg.headers[MessageHeader.WebhookTimestamp], body?.created_at),
    signature: msg.headers[MessageHeader.WebhookSignature] ?? null,
    headers,
    payloadJson: body ? text : JSON.stringify({ raw: clean(text) }),
    status: foreign || handlerForType(eventType) === null ? "ignored" : "pending",
    metadata: body ? {} : { unparsed: true },
    retryCount: 0,
    resourceType,
    resourceId,
    streamSeq: msg.seq,
    subject: msg.subject,
    provider,
    project: foreign ? null : (msg.headers[MessageHeader.OpenaiProject] ?? null),
    createdAt: now,
    updatedAt: now,
  };
}

/** The event id of a provider's dedup key (`<provider>:<id>`, contracts' eventKey). */
function idOfKey(provider: string, key: string | undefined): string | undefined {
  return key?.startsWith(`${provider}:`) ? key.slice(provider.length + 1) : key;
}

/** Headers of a message as a plain object (the first value of each). */
export function headerRecord(
  h: { keys(): string[]; get(k: string): string } | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}

/** The parts of a nats.js message that hold its raw header block (not in its public types). */
interface RawNatsMsg {
  msg?: { _rdata?: Uint8Array; _msg?: { hdr?: number } };
}

/**
 * The headers of a JetStream message as a plain object, read straight from the
 * header block. nats.js decodes headers into a case-insensitive multimap
 * (canonicalizing and re-searching every key): the audit's profile put that at a
 * fifth of its time per message. Same result as `headerRecord(msg.headers)`,
 * which it falls back to when the client's message shape is not the one known here.
 */
export function messageHeaders(msg: {
  headers?: { keys(): string[]; get(k: string): string };
}): Record<string, string> {
  const inner = (msg as RawNatsMsg).msg;
  const raw = inner?._rdata;
  const size = inner?._msg?.hdr;
  if (!(raw instanceof Uint8Array) || typeof size !== "number") return headerRecord(msg.headers);
  const out: Record<string, string> = {};
  if (size < 0) return out;
  const text = messageText(raw, size);
  if (!text.startsWith("NATS/1.0")) return headerRecord(msg.headers);
  // "NATS/1.0[ status]\r\nKey: value\r\n…\r\n\r\n", scanned in place (no split, no line strings)
  let at = text.indexOf("\r\n") + 2;
  while (at > 1 && at < text.length) {
    let end = text.indexOf("\r\n", at);
    if (end === -1) end = text.length;
    const colon = text.indexOf(":", at);
    if (colon > at && colon < end) {
      const key = text.slice(at, colon);
      if (!(key in out)) out[key] = text.slice(colon + 1, end).trim();
    }
    at = end + 2;
  }
  return out;
}
