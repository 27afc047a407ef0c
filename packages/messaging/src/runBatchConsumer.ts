import type { RetryPolicy } from "@hookstream/contracts";
import { withBatchSpan } from "@hookstream/observability";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { consumeLoop } from "./consumeLoop";
import { decideAck } from "./decideAck";
import { settle } from "./runConsumer";

export interface RunBatchConsumerOptions {
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
  /** commits the whole batch or throws; every message is then nak'd by its own delivery count */
  handleBatch(msgs: JsMsg[]): Promise<void>;
  random?: () => number;
}

/**
 * Adaptive batching: a batch is written as soon as nothing more is buffered or it
 * is full, so a lone event is written at once and a backlog in large batches.
 * Messages are acked only after the batch committed.
 */
export function runBatchConsumer(opts: RunBatchConsumerOptions) {
  const maxBatch = opts.maxBatch ?? 500;
  const maxWaitMs = opts.maxWaitMs ?? 20;
  let batch: JsMsg[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  // flushes run one at a time, whether the loop or the idle timer asks for them
  let chain: Promise<void> = Promise.resolve();
  const flushNow = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    chain = chain.then(flush);
    return chain;
  };

  async function flush(): Promise<void> {
    if (batch.length === 0) return;
    const msgs = batch;
    batch = [];
    let error: unknown | null = null;
    try {
      // one span per batch, linked to the trace of each message in it
      await withBatchSpan(
        `${opts.durable} batch`,
        msgs.map((m) => m.headers),
        {
          "messaging.system": "nats",
          "messaging.consumer.group.name": opts.durable,
          "messaging.batch.message_count": msgs.length,
        },
        () => opts.handleBatch(msgs),
      );
    } catch (err) {
      error = err;
      opts.logger.warn({ err, count: msgs.length }, "batch failed; nak");
    }
    for (const msg of msgs) settle(msg, decideAck(error, msg.info.deliveryCount, opts.policy, opts.random));
  }

  const loop = consumeLoop({
    js: opts.js,
    stream: opts.stream,
    durable: opts.durable,
    maxMessages: maxBatch * 2,
    logger: opts.logger,
    async onMessage(msg, iter) {
      batch.push(msg);
      if (batch.length >= maxBatch || iter.getPending() === 0) await flushNow();
      else if (timer === null) timer = setTimeout(() => void flushNow(), maxWaitMs);
    },
    onIteratorEnd: flushNow,
  });
  return { done: loop.done, stop: loop.stop };
}
