import { randomUUID } from "node:crypto";
import { deliverySeqOf, pendingOf, streamSeqOf } from "@hookstream/messaging";
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

/** A replay that lost a message on the way (a gap in the consumer's delivery sequence). */
export class ReplayGapError extends Error {
  constructor(expected: number, got: number) {
    super(`replay interrupted: delivery ${got} arrived where ${expected} was expected; run it again`);
    this.name = "ReplayGapError";
  }
}

/**
 * Reads a stream in order, from `fromSeq` up to and including `toSeq`, through an
 * ephemeral consumer of its own (no acks, in memory, removed afterwards and by the
 * server after 30 s without a client): the fastest way to replay. `filterSubject`
 * narrows it (one subject only: nats-server 2.9).
 *
 * Not nats.js's ordered consumer: that one parses every message's reply subject into
 * an object to watch for gaps and recreates itself after one, which cost about a
 * fifth of a rebuild's replay (BENCHMARKS.md, "Projection rebuild"). Here the delivery
 * sequence is read from the reply subject and a gap fails the read (ReplayGapError):
 * a rebuild is then run again, never finished with a message missing.
 *
 * Messages come through the consumer's callback, not an async iterator: an iterator
 * costs a promise and an await per message. `onMessage` is called in stream order; a
 * promise it returns is awaited before readStream returns (no back-pressure).
 */
export async function readStream(
  js: JetStreamClient,
  stream: string,
  opts: { fromSeq: number; toSeq: number; filterSubject?: string },
  onMessage: (msg: JsMsg) => void | Promise<void>,
): Promise<number> {
  if (opts.toSeq < opts.fromSeq) return 0;
  const jsm = await js.jetstreamManager();
  const info = await jsm.consumers.add(stream, {
    // named: its create subject ends in the name, which the fine-tune role's NATS
    // permissions allow (`$JS.API.CONSUMER.CREATE.FINE_TUNING.>`, deploy/nats/accounts.conf)
    name: `replay-${randomUUID()}`,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: opts.fromSeq,
    ...(opts.filterSubject ? { filter_subject: opts.filterSubject } : {}),
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(30_000),
  });
  const consumer = await js.consumers.get(stream, info.name);
  let count = 0;
  let delivered = 0;
  let finished = false;
  const pending: Promise<void>[] = [];
  let fail: (err: unknown) => void = () => {};
  let end: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  const stop = (err?: unknown) => {
    finished = true;
    if (err === undefined) end();
    else fail(err);
  };
  const messages = await consumer.consume({
    // read ahead generously: replay is the rebuild's longest step
    max_messages: 10_000,
    callback: (msg) => {
      if (finished) return;
      const dseq = deliverySeqOf(msg);
      if (dseq !== delivered + 1) return stop(new ReplayGapError(delivered + 1, dseq));
      delivered = dseq;
      // read from the reply subject: nats.js's msg.seq/msg.info build an object per message
      const seq = streamSeqOf(msg);
      if (seq > opts.toSeq) return stop();
      try {
        const result = onMessage(msg);
        if (result instanceof Promise) pending.push(result);
      } catch (err) {
        return stop(err);
      }
      count++;
      if (seq >= opts.toSeq || pendingOf(msg) === 0) stop();
    },
  });
  void messages.closed().then(
    (err) => {
      if (!finished) stop(err ?? new Error("replay interrupted: the consumer closed before the end"));
    },
    (err: unknown) => stop(err),
  );
  try {
    await done;
    await Promise.all(pending);
  } finally {
    messages.stop();
    await jsm.consumers.delete(stream, info.name).catch(() => {});
  }
  return count;
}
