import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";

export interface LoopOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  /** messages pulled ahead and buffered */
  maxMessages: number;
  logger: Logger;
  /** called for each message, in order; may return a promise to wait on (back-pressure) */
  onMessage(msg: JsMsg, iter: ConsumerMessages): Promise<void> | undefined;
  /** called when the iterator ends, before it is restarted or the loop stops */
  onIteratorEnd?(): Promise<void>;
  /**
   * Awaited by `stop()` once nothing more is pulled and before the buffered messages
   * are handed back: finish the work in flight here (it commits and acks).
   */
  finishInFlight?(): Promise<void>;
  /** nak delay of a message handed back at stop (default HAND_BACK_DELAY_MS) */
  handBackDelayMs?: number;
}

export interface Loop {
  /**
   * Stops pulling, lets the work in flight finish, then hands back (naks with a short
   * delay) what was pulled but not started; resolves when all of that is done.
   */
  stop(): Promise<void>;
  /** resolves when the pull loop has returned (before the hand-back) */
  readonly done: Promise<void>;
}

/**
 * Long enough for the server to have dropped this instance's pull requests (their
 * inbox lost interest when the iterator stopped), short enough that another instance
 * picks the message up well within the 2 s promised after a SIGTERM.
 */
export const HAND_BACK_DELAY_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** how often, and how long at most, stop() watches deliveries arriving before it unsubscribes */
const QUIESCE_POLL_MS = 20;
const QUIESCE_MAX_MS = 250;

/**
 * Waits until no more messages arrive on the iterator (two polls without a new one),
 * at most QUIESCE_MAX_MS. `stop()` unsubscribes the iterator's inbox at once, and a
 * message the server had already sent for an open pull request is then dropped by the
 * client while the server counts it delivered: it would come back only after the ack
 * wait. Letting deliveries on the wire land first means they are handed back too.
 */
async function quiesce(iter: ConsumerMessages): Promise<void> {
  const deadline = Date.now() + QUIESCE_MAX_MS;
  let seen = iter.getReceived();
  let still = 0;
  while (still < 2 && Date.now() < deadline) {
    await sleep(QUIESCE_POLL_MS);
    const now = iter.getReceived();
    still = now === seen ? still + 1 : 0;
    seen = now;
  }
}

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
  /** pulled, not started, and to be handed back: what the iterator still yields after stop */
  const buffered: JsMsg[] = [];
  let markUnsubscribed: () => void = () => {};
  const unsubscribed = new Promise<void>((resolve) => {
    markUnsubscribed = resolve;
  });

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
        // After `iter.stop()` the iterator still yields what it had buffered (nats.js 3.4
        // queues its own end behind those messages), then ends: collect them.
        for await (const msg of iter) {
          if (stopped) {
            // Take nothing more until the iterator is stopped: a refill pull is queued
            // behind the messages and sent only when the loop reaches it, so while stop()
            // waits for deliveries on the wire the loop must not ask for more.
            await unsubscribed;
            buffered.push(msg);
          } else {
            // most messages are only buffered: no promise to wait on for them
            const wait = opts.onMessage(msg, iter);
            if (wait) await wait;
          }
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
      // 1. Stop pulling: `stop()` unsubscribes the iterator's inbox, and the server drops
      //    a pull request whose inbox has no interest, so nothing more is delivered here —
      //    in particular not the messages handed back below (c14107e: naked while this
      //    iterator still pulled, they came straight back and spent deliveries).
      const current = iter as ConsumerMessages | null;
      if (current) await quiesce(current);
      current?.stop();
      markUnsubscribed();
      wake?.();
      await done;
      // 2. Finish what was started.
      await opts.finishInFlight?.();
      // 3. Hand back the rest at once instead of leaving it to the ack wait. This is not a
      //    failed attempt: it bypasses decideAck, so no outcome, retry or dead letter.
      const delayMs = opts.handBackDelayMs ?? HAND_BACK_DELAY_MS;
      const handedBack = buffered.splice(0);
      for (const msg of handedBack) msg.nak(delayMs);
      logger.info(
        { stream, durable, handedBack: handedBack.length, seqs: handedBack.map((m) => m.seq), delayMs },
        "stopped; buffered messages handed back",
      );
    },
  };
}

export { sleep };
