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
          await opts.onMessage(msg, iter);
          if (stopped) break;
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
      // Stop pulling at once. Messages pulled but not started are not nak'd: a nak makes
      // them redeliverable at once, to this very iterator while it winds down, and each
      // round trip spends a delivery. They come back to another instance after the ack wait.
      iter?.stop();
      wake?.();
      await done;
    },
  };
}

export { sleep };
