import {
  handlerForType,
  isHandlerName,
  MessageHeader,
  replaySubject,
  type Topology,
} from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { BadRequestError, NotFoundError } from "./adminErrors";
import { replayHeaders } from "./replayHeaders";
import { WebhookEvent } from "./WebhookEvent";

/** The stored message is the event's (the seq was not reused): by its body id or its msg id. */
function sameEvent(msgId: string | undefined, data: Uint8Array, eventId: string): boolean {
  if (msgId === eventId) return true;
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
  handler?: string;
  force: boolean;
}

export interface ReplayResult {
  event_id: string;
  event_type: string;
  handler: string;
  subject: string;
  /** sequence of the replay message in WEBHOOK_REPLAYS */
  replay_seq: number;
  force: boolean;
}

/**
 * Republishes one event's original message (found in WEBHOOKS by the `stream_seq`
 * the audit recorded) to the replay subject of one handler. It goes to another
 * stream, which the audit does not consume, so a replay never makes a second row.
 */
export async function replayEvent(
  deps: { em: EntityManager; js: JetStreamClient; jsm: JetStreamManager; topology: Topology },
  req: ReplayRequest,
): Promise<ReplayResult> {
  const { em, js, jsm, topology } = deps;
  if (req.handler !== undefined && !isHandlerName(req.handler)) {
    throw new BadRequestError(`no handler named "${req.handler}"`);
  }
  const row = await em.findOne(
    WebhookEvent,
    { eventId: req.eventId },
    { fields: ["eventId", "eventType", "streamSeq"] },
  );
  if (!row) throw new NotFoundError(`no event ${req.eventId} in webhook_events`);
  const handler = req.handler ?? handlerForType(row.eventType);
  if (handler === null) {
    throw new BadRequestError(`no handler consumes events of type ${row.eventType}; name one with handler`);
  }
  if (row.streamSeq === null || row.streamSeq === undefined) {
    throw new NotFoundError(
      `event ${req.eventId} is known from an outcome only; its message was not audited yet`,
    );
  }
  const original = await jsm.streams
    .getMessage(topology.streams.webhooks, { seq: row.streamSeq })
    .catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.status === 404) return null;
      throw err;
    });
  if (!original || !sameEvent(original.header?.get(MessageHeader.MsgId), original.data, req.eventId)) {
    throw new NotFoundError(
      `the message of event ${req.eventId} (seq ${row.streamSeq}) is no longer in ${topology.streams.webhooks}`,
    );
  }
  const subject = replaySubject(topology, handler, row.eventType);
  const ack = await js.publish(subject, original.data, {
    headers: replayHeaders(original.header, handler, req.force),
  });
  return {
    event_id: req.eventId,
    event_type: row.eventType,
    handler,
    subject,
    replay_seq: ack.seq,
    force: req.force,
  };
}
