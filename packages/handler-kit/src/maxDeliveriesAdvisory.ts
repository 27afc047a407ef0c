import { MaxDeliveriesAdvisory } from "@hookstream/messaging";
import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { Inbox } from "./inbox";
import { deadLetterAndReport, eventRef, type OutcomeDeps } from "./recordOutcome";

export interface AdvisoryDeps extends OutcomeDeps {
  jsm: JetStreamManager;
  inbox: Inbox;
  logger: Logger;
}

/**
 * A handler that dies on its last delivery never terms the message: the server's
 * MAX_DELIVERIES advisory (captured in a stream) is how it still reaches the DLQ.
 * `source` is the stream the exhausted durable reads (WEBHOOKS or WEBHOOK_REPLAYS).
 */
export async function handleMaxDeliveriesAdvisory(
  deps: AdvisoryDeps,
  adv: JsMsg,
  source: { stream: string; replay: boolean },
): Promise<void> {
  const advisory = MaxDeliveriesAdvisory.parse(JSON.parse(new TextDecoder().decode(adv.data)));
  const original = await deps.jsm.streams
    .getMessage(source.stream, { seq: advisory.stream_seq })
    .catch(() => null);
  if (!original) return; // gone (max age, erased): nothing left to keep
  const ref = eventRef(original.data, original.header, advisory.stream_seq);
  // finished after all (a copy that was waiting for the lease, a slow last attempt)
  if ((await deps.inbox.load(ref.id)).completed) return;
  const error = `exhausted: ${advisory.deliveries} deliveries without an ack (the handler died or timed out)`;
  await deadLetterAndReport(deps, {
    ref,
    data: original.data,
    headers: original.header,
    originalSubject: original.subject,
    originalSeq: advisory.stream_seq,
    attempts: advisory.deliveries,
    error,
    reason: "max_deliveries",
    streamSeq: source.replay ? null : advisory.stream_seq,
    replay: source.replay,
  });
  deps.logger.warn(
    { event_id: ref.id, event_type: ref.type, deliveries: advisory.deliveries },
    "dead-lettered after max deliveries",
  );
}
