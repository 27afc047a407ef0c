import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";

export interface LoopOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  /** messages pulled ahead and buffered */
  maxMessages: number;
  logger: Logger;
  /** called for each message, in order; may wait (back-pressure) */
  onMessage(msg: JsMsg, iter: ConsumerMessages): Promise<void>;
  /** called when the iterator ends, before it is restarted or the loop stops */
  onIteratorEnd?(): Promise<void>;
}

export interface Loop {
  /** stop pulling; resolves when the loop has returned */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Pulls from a durable consumer forever. `consume()` ends its iterator on some
 * faults (missed heartbeats while NATS is away, consumer deleted); the loop then
 * binds again after a pause, so an outage delays work and never ends the service.
 */
export function consumeLoop(opts: LoopOptions): Loop {
  const { js, stream, durable, logger } = opts;
  let stopped = false;
  let iter: ConsumerMessages | null = null;
  let wake: (() => void) | null = null;

  const done = (async () => {
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(stream, durable);
        iter = await consumer.consume({
          max_messages: opts.maxMessages,
          idle_heartbeat: 5_000,
          expires: 15_000,
        });
        if (stopped) iter.stop();
        for await (const msg of iter) {
          if (stopped) {
            // pulled but not started: hand it back now rather than after the ack wait
            msg.nak();
            if (iter.getPending() === 0) break;
            continue;
          }
          await opts.onMessage(msg, iter);
          if (stopped && iter.getPending() === 0) break;
        }
      } catch (err) {
        if (!stopped) logger.warn({ err, stream, durable }, "consumer interrupted; binding again");
      } finally {
        iter = null;
        await opts.onIteratorEnd?.();
      }
      if (!stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1_000);
        });
        wake = null;
      }
    }
  })();

  return {
    done,
    async stop() {
      stopped = true;
      // with messages still buffered the loop naks them and ends by itself; else end the wait now
      if (!iter || iter.getPending() === 0) iter?.stop();
      const bound = setTimeout(() => iter?.stop(), 2_000);
      wake?.();
      await done;
      clearTimeout(bound);
    },
  };
}

export { sleep };
