import type { RetryPolicy } from "@hookstream/contracts";
import { withBatchSpan } from "@hookstream/observability";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { consumeLoop } from "./consumeLoop";
import { decideAck } from "./decideAck";
import { settle } from "./runConsumer";

/** headers read for a batch span's links (withBatchSpan keeps the first 128) */
const MAX_LINKED_HEADERS = 128;

export interface RunBatchConsumerOptions<P = undefined> {
  js: JetStreamClient;
  stream: string;
  durable: string;
  policy: RetryPolicy;
  logger: Logger;
  /** most messages in one batch */
  maxBatch?: number;
  /**
   * flush a non-empty batch after this long without a new message (default 20 ms):
   * the iterator's pending count also counts status messages it filters out, so
   * "nothing more buffered" is not always seen and the tail of a backlog would wait
   * for the ack timeout
   */
  maxWaitMs?: number;
  /**
   * batches written at once (default 1). While they are written the next batch is
   * pulled and buffered, so pulling always overlaps the writes; with 2, decoding the
   * next batch overlaps the database's work on the current one too
   */
  concurrency?: number;
  /**
   * Work done on each message as it arrives (decoding, building its row), so that it
   * overlaps the batches being written instead of delaying the next one. Its result
   * reaches handleBatch beside the message; undefined when it threw (the error is logged).
   */
  prepare?(msg: JsMsg): P;
  /**
   * full batches that may wait beside those being written (default 1). With more,
   * `prepare` keeps working ahead while every writer waits on the database, instead of
   * the loop stopping at the first full batch
   */
  maxWaitingBatches?: number;
  /** commits the whole batch or throws; every message is then nak'd by its own delivery count */
  handleBatch(msgs: JsMsg[], prepared: Array<P | undefined>): Promise<void>;
  random?: () => number;
}

/**
 * Adaptive batching: a batch is written as soon as nothing more is buffered or it
 * is full, so a lone event is written at once and a backlog in large batches; what
 * arrives while every writer is busy is written as soon as one is free. Messages are
 * acked one by one (never AckAll: instances share the durable) and only after their
 * batch committed.
 */
export function runBatchConsumer<P = undefined>(opts: RunBatchConsumerOptions<P>) {
  const maxBatch = opts.maxBatch ?? 500;
  const maxWaitMs = opts.maxWaitMs ?? 20;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const prepare = opts.prepare;
  const waitingLimit = maxBatch * Math.max(1, opts.maxWaitingBatches ?? 1);
  let batch: JsMsg[] = [];
  /** prepare()'s result for each message of `batch`, same order */
  let prepared: Array<P | undefined> = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const writing = new Set<Promise<void>>();

  function prepareOne(msg: JsMsg): P | undefined {
    if (!prepare) return undefined;
    try {
      return prepare(msg);
    } catch (err) {
      opts.logger.warn({ err, subject: msg.subject }, "cannot prepare a message; handleBatch gets undefined");
      return undefined;
    }
  }

  async function write(msgs: JsMsg[], ready: Array<P | undefined>): Promise<void> {
    let error: unknown | null = null;
    try {
      // one span per batch, linked to the trace of each message in it
      await withBatchSpan(
        `${opts.durable} batch`,
        // the span links to at most 128 traces, read only when the span is recorded:
        // decoding every message's headers for it cost the audit a fifth of its time
        // per message (profile in BENCHMARKS.md)
        () => msgs.slice(0, MAX_LINKED_HEADERS).map((m) => m.headers),
        {
          "messaging.system": "nats",
          "messaging.consumer.group.name": opts.durable,
          "messaging.batch.message_count": msgs.length,
        },
        () => opts.handleBatch(msgs, ready),
      );
    } catch (err) {
      error = err;
      opts.logger.warn({ err, count: msgs.length }, "batch failed; nak");
    }
    // the common case acks without parsing each message's delivery info
    if (error === null) for (const msg of msgs) msg.ack();
    else
      for (const msg of msgs) settle(msg, decideAck(error, msg.info.deliveryCount, opts.policy, opts.random));
  }

  /** Starts writing what is buffered, as far as free writers allow. */
  function startWrites(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    while (batch.length > 0 && writing.size < concurrency) {
      let msgs = batch;
      let ready = prepared;
      if (batch.length > maxBatch) {
        msgs = batch.splice(0, maxBatch);
        ready = prepared.splice(0, maxBatch);
      } else {
        batch = [];
        prepared = [];
      }
      const done: Promise<void> = write(msgs, ready)
        .catch((err: unknown) => opts.logger.warn({ err }, "cannot settle a batch"))
        .then(() => {
          writing.delete(done);
          startWrites();
        });
      writing.add(done);
    }
  }

  /** Writes everything buffered and waits for every write to end. */
  async function drain(): Promise<void> {
    startWrites();
    while (writing.size > 0) {
      await Promise.race(writing);
      startWrites();
    }
  }

  async function backPressure(): Promise<void> {
    while (batch.length >= waitingLimit && writing.size > 0) await Promise.race(writing);
  }

  const loop = consumeLoop({
    js: opts.js,
    stream: opts.stream,
    durable: opts.durable,
    maxMessages: maxBatch * 2,
    logger: opts.logger,
    onMessage(msg, iter) {
      batch.push(msg);
      prepared.push(prepareOne(msg));
      if (batch.length >= maxBatch || iter.getPending() === 0) {
        startWrites();
        // back-pressure: at most maxWaitingBatches full batches wait beside those being written
        if (batch.length >= waitingLimit && writing.size > 0) return backPressure();
      } else if (timer === null) timer = setTimeout(startWrites, maxWaitMs);
      return undefined;
    },
    onIteratorEnd: drain,
  });
  return { done: loop.done, stop: loop.stop };
}
