import {
  eventKey,
  handlerForType,
  isHandlerName,
  MessageHeader,
  OPENAI_PROVIDER,
  replaySubject,
  type SingleReplayResult,
  type Topology,
} from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { BadRequestError, NotFoundError } from "../admin/adminErrors";
import { eventName, eventOfId } from "../admin/eventOfId";
import { handlerTakesType, typesTakenBy } from "./handlerTakesType";
import { replayHeaders } from "./replayHeaders";

/**
 * The stored message is the event's (the seq was not reused): by its msg id (the
 * event's key, or its bare id as every provider's was before keys named the
 * provider) or, for OpenAI's, its body id.
 */
export function sameEvent(
  msgId: string | undefined,
  data: Uint8Array,
  eventId: string,
  provider = OPENAI_PROVIDER,
): boolean {
  if (msgId === eventId || msgId === eventKey(provider, eventId)) return true;
  if (provider !== OPENAI_PROVIDER) return false;
  try {
    const body = JSON.parse(new TextDecoder().decode(data)) as { id?: unknown };
    return body?.id === eventId || (!msgId && body?.id === undefined);
  } catch {
    // a raw body is audited under its msg id or, lacking one, under subject#seq
    return !msgId;
  }
}

export interface ReplayRequest {
  eventId: string;
  /** the event's sender; without it the id alone must name one event */
  provider?: string;
  handler?: string;
  force: boolean;
}

/** The admin API's answer (`SingleReplayResult`) before the handler's verdict is known. */
export type ReplayResult = Omit<SingleReplayResult, "verdict" | "error">;

export class MessageGoneError extends NotFoundError {}

/**
 * Republishes one audited event's original message (found in WEBHOOKS by its
 * `stream_seq`) to `replay.<handler>.<type>`. Throws MessageGoneError when the message
 * is no longer in the stream (max age, erasure) or the seq now holds another event.
 */
export async function republishEvent(
  deps: { js: JetStreamClient; jsm: JetStreamManager; topology: Topology },
  row: { eventId: string; eventType: string; streamSeq: number },
  handler: string,
  force: boolean,
): Promise<{ subject: string; seq: number }> {
  const { js, jsm, topology } = deps;
  const original = await jsm.streams
    .getMessage(topology.streams.webhooks, { seq: row.streamSeq })
    .catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.status === 404) return null;
      throw err;
    });
  if (!original || !sameEvent(original.header?.get(MessageHeader.MsgId), original.data, row.eventId)) {
    throw new MessageGoneError(
      `the message of event ${row.eventId} (seq ${row.streamSeq}) is no longer in ${topology.streams.webhooks}`,
    );
  }
  const subject = replaySubject(topology, handler, row.eventType);
  const ack = await js.publish(subject, original.data, {
    headers: replayHeaders(original.header, handler, force),
  });
  return { subject, seq: ack.seq };
}

/**
 * Republishes one event's original message (found in WEBHOOKS by the `stream_seq`
 * the audit recorded) to the replay subject of one handler. It goes to another
 * stream, which the audit does not consume, so a replay never makes a second row.
 * Refused (400) when the handler does not take the event's type.
 */
export async function replayEvent(
  deps: { em: EntityManager; js: JetStreamClient; jsm: JetStreamManager; topology: Topology },
  req: ReplayRequest,
): Promise<ReplayResult> {
  const { em, topology } = deps;
  if (req.handler !== undefined && !isHandlerName(req.handler)) {
    throw new BadRequestError(`no handler named "${req.handler}"`);
  }
  const found = await eventOfId<{
    provider: string;
    event_type: string;
    stream_seq: string | null;
    subject: string | null;
  }>(em, "provider, event_type, stream_seq, subject", req.eventId, req.provider);
  if (!found) throw new NotFoundError(`no event ${eventName(req.eventId, req.provider)} in webhook_events`);
  const row = {
    eventType: found.event_type,
    streamSeq: found.stream_seq === null ? null : Number(found.stream_seq),
    subject: found.subject,
  };
  const handler = req.handler ?? handlerForType(row.eventType);
  if (handler === null) {
    throw new BadRequestError(`no handler consumes events of type ${row.eventType}; name one with handler`);
  }
  const fromOpenAI = row.subject == null || row.subject.startsWith(`${topology.subjects.openaiPrefix}.`);
  if (!fromOpenAI || !handlerTakesType(handler, row.eventType)) {
    throw new BadRequestError(
      `handler ${handler} does not take ${fromOpenAI ? "" : "this sender's "}events of type ${row.eventType}` +
        ` (it takes ${typesTakenBy(handler).join(", ")}); nothing replayed`,
    );
  }
  if (row.streamSeq === null || row.streamSeq === undefined) {
    throw new NotFoundError(
      `event ${req.eventId} is known from an outcome only; its message was not audited yet`,
    );
  }
  const published = await republishEvent(
    deps,
    { eventId: req.eventId, eventType: row.eventType, streamSeq: row.streamSeq },
    handler,
    req.force,
  );
  return {
    event_id: req.eventId,
    event_type: row.eventType,
    handler,
    subject: published.subject,
    replay_seq: published.seq,
    force: req.force,
  };
}
