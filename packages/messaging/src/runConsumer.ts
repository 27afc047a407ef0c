import type { RetryPolicy } from "@hookstream/contracts";
import { withMessageSpan } from "@hookstream/observability";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { consumeLoop } from "./consumeLoop";
import { type AckDecision, decideAck, nakDelayMs } from "./decideAck";
import { InFlight } from "./inFlight";

export interface MessageContext {
  /** the delivery count of this attempt, 1 for the first */
  attempt: number;
}

export interface RunConsumerOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  policy: RetryPolicy;
  logger: Logger;
  /** messages worked on at once by this instance */
  concurrency?: number;
  /** the work; throw RetryableError or PermanentError (anything else counts as retryable) */
  handle(msg: JsMsg, ctx: MessageContext): Promise<void>;
  /**
   * Runs after the work and before the message is settled, with the decision: the
   * place to publish the outcome and, for a term, write the dead letter. If it
   * throws, the message is nak'd instead so that nothing decided is lost.
   */
  beforeSettle?(msg: JsMsg, decision: AckDecision, error: unknown | null): Promise<void>;
  /** how often to tell the server we are still working; a third of the ack wait by default */
  workingIntervalMs?: number;
  random?: () => number;
}

export interface ConsumerRunner {
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * Bounded-concurrency consumer (nats.js `07_consume_jobs` pattern) that ends every
 * message in exactly one of ack, nak(delay) or term, decided by decideAck.
 */
export function runConsumer(opts: RunConsumerOptions): ConsumerRunner {
  const { policy, logger } = opts;
  const concurrency = opts.concurrency ?? 8;
  const workingEvery = opts.workingIntervalMs ?? Math.max(250, Math.floor(policy.ackWaitMs / 3));
  const inFlight = new InFlight(concurrency);

  // one span per delivery, continuing the trace the gateway started (traceparent header);
  // the handler's logs, outbound calls and the outcome it records run inside it
  function work(msg: JsMsg): Promise<void> {
    return withMessageSpan(
      `${opts.durable} process`,
      msg.headers,
      {
        "messaging.system": "nats",
        "messaging.destination.name": msg.subject,
        "messaging.consumer.group.name": opts.durable,
        "messaging.message.delivery_count": msg.info.deliveryCount,
      },
      () => workInSpan(msg),
    );
  }

  async function workInSpan(msg: JsMsg): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const ticker = setInterval(() => msg.working(), workingEvery);
    let error: unknown | null = null;
    try {
      await opts.handle(msg, { attempt });
    } catch (err) {
      error = err;
    } finally {
      clearInterval(ticker);
    }
    const decision = decideAck(error, attempt, policy, opts.random);
    try {
      await opts.beforeSettle?.(msg, decision, error);
    } catch (err) {
      const delayMs = nakDelayMs(policy, attempt, opts.random);
      logger.warn({ err, subject: msg.subject, seq: msg.seq, delayMs }, "could not record the outcome; nak");
      msg.nak(delayMs);
      return;
    }
    settle(msg, decision);
    if (error !== null) {
      logger.warn({ err: error, subject: msg.subject, seq: msg.seq, attempt, decision }, "message failed");
    }
  }

  const loop = consumeLoop({
    js: opts.js,
    stream: opts.stream,
    durable: opts.durable,
    maxMessages: concurrency,
    logger,
    onMessage(msg) {
      return inFlight.add(
        work(msg).catch((err) => logger.error({ err }, "unexpected error settling a message")),
      );
    },
    // on stop, what was started finishes (commits and acks) before the buffered rest is handed back
    finishInFlight: () => inFlight.drain(),
  });

  return { done: loop.done, stop: loop.stop };
}

/** `term()` without a reason: on 2.9.10 a reason does not stop redelivery (docs/architecture.md, "Platform notes"). */
export function settle(msg: JsMsg, decision: AckDecision): void {
  switch (decision.kind) {
    case "ack":
      msg.ack();
      return;
    case "nak":
      msg.nak(decision.delayMs);
      return;
    case "term":
      msg.term();
      return;
    default: {
      const exhaustive: never = decision;
      throw new Error(`unknown decision ${JSON.stringify(exhaustive)}`);
    }
  }
}
