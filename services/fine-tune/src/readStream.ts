import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { DeliverPolicy } from "@nats-io/jetstream";

/**
 * Reads a stream in order, from `fromSeq` up to and including `toSeq`, through an
 * ordered consumer (ephemeral, flow-controlled, no acks): the fastest way to replay.
 * `filterSubject` narrows it (one subject only: nats-server 2.9).
 */
export async function readStream(
  js: JetStreamClient,
  stream: string,
  opts: { fromSeq: number; toSeq: number; filterSubject?: string },
  onMessage: (msg: JsMsg) => void | Promise<void>,
): Promise<number> {
  if (opts.toSeq < opts.fromSeq) return 0;
  const consumer = await js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: opts.fromSeq,
    ...(opts.filterSubject ? { filter_subjects: opts.filterSubject } : {}),
  });
  const messages = await consumer.consume({ max_messages: 2_000 });
  let count = 0;
  try {
    for await (const msg of messages) {
      if (msg.seq > opts.toSeq) break;
      await onMessage(msg);
      count++;
      if (msg.seq >= opts.toSeq || msg.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
  return count;
}
