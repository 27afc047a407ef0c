import { pendingOf, streamSeqOf } from "@hookstream/messaging";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { DeliverPolicy } from "@nats-io/jetstream";

/**
 * Reads a stream in order, from `fromSeq` up to and including `toSeq`, through an
 * ordered consumer (ephemeral, flow-controlled, no acks): the fastest way to replay.
 * `filterSubject` narrows it (one subject only: nats-server 2.9).
 *
 * Messages come through the consumer's callback, not an async iterator: an iterator
 * costs a promise and an await per message, which (with the async hooks tracing
 * installs) was most of a rebuild's replay time. `onMessage` is called in stream
 * order; a promise it returns is awaited before readStream returns (no back-pressure).
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
  let count = 0;
  let finished = false;
  const pending: Promise<void>[] = [];
  let fail: (err: unknown) => void = () => {};
  let end: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  const messages = await consumer.consume({
    // read ahead generously: replay is the rebuild's longest step
    max_messages: 10_000,
    callback: (msg) => {
      if (finished) return;
      // read from the reply subject: nats.js's msg.seq/msg.info build an object per message
      const seq = streamSeqOf(msg);
      if (seq > opts.toSeq) {
        finished = true;
        end();
        return;
      }
      try {
        const result = onMessage(msg);
        if (result instanceof Promise) pending.push(result);
      } catch (err) {
        finished = true;
        fail(err);
        return;
      }
      count++;
      if (seq >= opts.toSeq || pendingOf(msg) === 0) {
        finished = true;
        end();
      }
    },
  });
  void messages.closed().then(
    (err) => {
      if (!finished && err) fail(err);
    },
    (err: unknown) => fail(err),
  );
  try {
    await done;
    await Promise.all(pending);
  } finally {
    messages.stop();
  }
  return count;
}
