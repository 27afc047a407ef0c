import { createHash } from "node:crypto";
import {
  type DeliveryRecord,
  type DestinationDurable,
  deliverySubject,
  destinationDlqHandler,
  ReplayHeader,
  type ResolvedDestination,
  type Topology,
} from "@hookstream/contracts";
import { consumeLoop, deadLetter, type EventPublisher, InFlight, type Loop } from "@hookstream/messaging";
import { maskUrl } from "@hookstream/runtime";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { SharedBreaker } from "../breaker/sharedBreaker";
import { StoppedError } from "../breaker/sharedBreaker";
import type { DeliveryMetrics, RecentAttempts } from "../deliveryMetrics";
import { matchesFilter } from "../routing/matchFilter";
import { type DeliveryEvent, readEvent, readRedriven } from "../routing/readEvent";
import { type AttemptResult, sendAttempt } from "../send/sendAttempt";
import { decideRetry } from "./decideRetry";
import { Gate, RateLimiter } from "./limits";

export interface DestinationWorkerDeps {
  js: JetStreamClient;
  /** publishes the delivery records (messaging's ackedPublisher: one reply subscription for all) */
  records: EventPublisher;
  topology: Topology;
  destination: ResolvedDestination;
  durables: DestinationDurable[];
  breaker: SharedBreaker;
  metrics: DeliveryMetrics;
  recent: RecentAttempts;
  logger: Logger;
  /** requests in flight to this destination from this instance */
  concurrency: number;
  /** the durables' ack wait: in-progress acks go out at a third of it */
  ackWaitMs: number;
  now?: () => number;
}

/** The partition of a resource among `partitions`: a stable hash, the same on every instance. */
export function partitionOf(key: string, partitions: number): number {
  return createHash("sha1").update(key).digest().readUInt32BE(0) % partitions;
}

/** Where a redriven dead letter was first read, from the headers the redrive set (if it did). */
function originalOf(msg: JsMsg): { subject: string; seq: number } | null {
  const subject = msg.headers?.get(ReplayHeader.OriginalSubject);
  const seq = Number(msg.headers?.get(ReplayHeader.OriginalSeq));
  return subject ? { subject, seq: Number.isSafeInteger(seq) ? seq : 0 } : null;
}

/** A short delay for a message handed back at stop: another instance takes it soon. */
const HAND_BACK_MS = 250;
/** the longest a delivery record's publish waits for JetStream's ack before it is logged as lost */
const RECORD_ACK_MS = 10_000;
const utf8 = new TextEncoder();

/**
 * Runs one destination: its own durable(s), its own requests in flight, its own
 * breaker and rate limit, so a slow or dead destination delays only itself.
 *
 * - unordered: one durable shared by every instance; each message is worked on as it
 *   arrives, up to `concurrency` requests at once; the durable's max ack pending bounds
 *   what is held across instances.
 * - ordered (`ordering: "resource"`): one durable per partition, each with max ack
 *   pending 1 — the server hands out a partition's next message only once the previous
 *   one is acked or dead-lettered, whatever the number of instances; a retry's nak
 *   delay keeps it pending, so the partition waits for it. Every partition's durable
 *   reads the whole stream and acks at once what is not its own.
 *
 * - redrive: the destination's redrive durable (WEBHOOK_REPLAYS) carries the dead letters
 *   an operator sent back to it. They were routed here once, so no filter or partition
 *   applies; the retry policy starts afresh (attempts and maxAgeMs count from the redrive).
 *
 * Every message ends in one of: ack (delivered, or not for this destination), nak with
 * the destination's backoff (failed, attempts left), dead letter + term (policy
 * exhausted), or a short nak (handed back at stop).
 */
export function startDestinationWorker(deps: DestinationWorkerDeps): { stop(): Promise<void> } {
  const { destination: dest, logger, breaker, js, topology } = deps;
  const now = deps.now ?? Date.now;
  const limiter = dest.ratePerSec ? new RateLimiter(dest.ratePerSec) : null;
  // the redrive durable carries no partition
  const partitions = deps.durables.filter((d) => d.partition !== null).length;
  const maskedUrl = maskUrl(dest.url);
  const recordSubject = deliverySubject(topology, `delivery.${dest.name}`);
  const workingEvery = Math.max(250, Math.floor(deps.ackWaitMs / 3));
  // one ticker for every message being worked on (not a timer each): in-progress acks,
  // so a slow attempt or a wait at the breaker does not run out the ack wait
  const working = new Set<JsMsg>();
  const ticker = setInterval(() => {
    for (const m of working) m.working();
  }, workingEvery);
  ticker.unref();

  // Settling (the record and the ack or nak) waits for the end of the event loop's turn,
  // and every message settled in that turn goes out in one write to NATS: the answers of
  // many requests arrive in one turn under load, and a write per message (each in its own
  // microtask flush) was the largest cost left (bench group `delivery`).
  const settling: Array<() => void> = [];
  let settleScheduled = false;
  const settleAll = () => {
    settleScheduled = false;
    for (const fn of settling.splice(0)) fn();
  };
  /** runs `fn` (acks, naks, records) with the others of this turn, in one write */
  const atTurnEnd = (fn: () => void) => {
    settling.push(fn);
    if (!settleScheduled) {
      settleScheduled = true;
      setImmediate(settleAll);
    }
  };
  const settle = (fn: () => void) =>
    new Promise<void>((resolve) =>
      atTurnEnd(() => {
        fn();
        resolve();
      }),
    );

  // An ordered destination's partitions each read every message of the stream: the first
  // of them to read one works out its partition, and the others find it here by the
  // message's stream sequence (and its stored time: a stream made anew counts from 1 again)
  // instead of reading its headers and hashing its resource again.
  const partitionOfSeq = new Map<number, { partition: number; storedAt: number }>();
  const partitionOfMsg = (msg: JsMsg, ev: () => DeliveryEvent): number => {
    const storedAt = msg.info.timestampNanos;
    const known = partitionOfSeq.get(msg.seq);
    if (known?.storedAt === storedAt) return known.partition;
    const e = ev();
    const partition = partitionOf(e.resource() ?? e.facts.eventId, partitions);
    partitionOfSeq.set(msg.seq, { partition, storedAt });
    // every partition reads a message within moments of the others: a short memory will do
    if (partitionOfSeq.size > 4 * 1024) partitionOfSeq.delete(partitionOfSeq.keys().next().value as number);
    return partition;
  };

  /**
   * Publishes the attempt's record and returns at once: the caller settles the message in
   * the same tick, so the record and the ack leave in one write, record first, and the
   * record's ack from JetStream is only watched. Best effort: a record that cannot be
   * published is logged, never allowed to fail (and so repeat) a request that went out.
   * Its msgID (destination, event, attempt) keeps a record published twice single.
   */
  function record(
    ev: DeliveryEvent,
    attempt: number,
    r: AttemptResult,
    outcome: DeliveryRecord["outcome"],
    atMs: number,
    redrive: string,
  ): void {
    const rec: DeliveryRecord = {
      event_id: ev.facts.eventId,
      event_type: ev.facts.eventType,
      handler: ev.facts.handler ?? ev.facts.provider,
      destination: dest.name,
      url: maskedUrl,
      webhook_id: r.webhookId,
      attempt,
      status_code: r.statusCode,
      latency_ms: Math.round(r.latencyMs * 100) / 100,
      error: r.error,
      outcome,
      at: new Date(atMs).toISOString(),
    };
    deps.records
      .publish(recordSubject, utf8.encode(JSON.stringify(rec)), {
        // a redrive counts its attempts from 1 again: its records need their own ids
        msgID: `${dest.name}:${ev.facts.provider}:${ev.facts.eventId}:${redrive}${attempt}`,
        headers: natsHeaders(),
        timeout: RECORD_ACK_MS,
      })
      .catch((err: unknown) =>
        logger.warn({ err, event_id: rec.event_id, outcome }, "could not record the delivery attempt"),
      );
  }

  /**
   * The event of a message if it is this destination's (its partition, its filter), null
   * when it is not — then acked with this turn's settling, not waiting for any request.
   * An event of ours is worked on from here on: the in-progress ticker covers it while it
   * waits for its turn.
   */
  function route(msg: JsMsg, partition: number | null, redriven: boolean): DeliveryEvent | null {
    let read: DeliveryEvent | null = null;
    const ev = () => {
      read ??= redriven ? readRedriven(topology, msg, dest.source) : readEvent(topology, msg, dest.source);
      return read;
    };
    if (partition !== null && partitionOfMsg(msg, ev) !== partition) {
      atTurnEnd(() => msg.ack());
      return null;
    }
    // a redriven dead letter was routed here once, and an operator sent it back here
    if (!redriven && !matchesFilter(dest.filter, ev().facts, ev().json)) {
      atTurnEnd(() => msg.ack());
      return null;
    }
    working.add(msg);
    return ev();
  }

  interface Routed {
    msg: JsMsg;
    ev: DeliveryEvent;
    redriven: boolean;
  }

  /** One attempt of a routed event, from the breaker to its settling. Never throws. */
  async function deliver({ msg, ev, redriven }: Routed): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const redrive = redriven ? `redrive-${msg.seq}:` : "";
    try {
      await breaker.admit(dest.name, () => msg.working());
      await limiter?.take();
      const startedAt = now();
      const r: AttemptResult = await sendAttempt(dest, ev, startedAt);
      deps.recent.add(r.ok, r.latencyMs, r.error, startedAt);
      if (r.ok) {
        deps.metrics.attempt(dest.name, "delivered", r.latencyMs);
        await settle(() => {
          record(ev, attempt, r, "delivered", startedAt, redrive);
          msg.ack();
        });
        // no write while the breaker is closed and clean (the usual case)
        await breaker.success(dest.name);
        return;
      }
      const log = logger.child({
        event_id: ev.facts.eventId,
        event_type: ev.facts.eventType,
        attempt,
        ...(r.traceId ? { trace_id: r.traceId } : {}),
      });
      await breaker.failure(dest.name, r.error ?? "failed");
      const decision = decideRetry(dest.retry, attempt, ev.storedAtMs, now());
      if (decision.kind === "retry") {
        deps.metrics.attempt(dest.name, "failed", r.latencyMs);
        await settle(() => {
          record(ev, attempt, r, "failed", startedAt, redrive);
          msg.nak(decision.delayMs);
        });
        log.warn({ error: r.error, delayMs: decision.delayMs }, "delivery failed; retrying");
        return;
      }
      deps.metrics.attempt(dest.name, "dead", r.latencyMs);
      record(ev, attempt, r, "dead", startedAt, redrive);
      const original = redriven ? originalOf(msg) : null;
      await deadLetter(js, topology, {
        handler: destinationDlqHandler(dest.name),
        eventId: ev.facts.eventId,
        eventType: ev.facts.eventType,
        data: msg.data,
        headers: msg.headers,
        // a redriven event dies again under its first subject, so a later redrive finds it
        originalSubject: original?.subject ?? msg.subject,
        originalSeq: original?.seq ?? msg.seq,
        // one dead letter per redrive: the first one's id would be dropped as a duplicate
        ...(redriven
          ? { msgId: `${destinationDlqHandler(dest.name)}:${ev.facts.eventId}:dlq:${msg.subject}:${msg.seq}` }
          : {}),
        attempts: attempt,
        error: `${decision.reason}; last: ${r.error}`,
        at: new Date(now()),
      });
      log.error(
        { error: r.error, reason: decision.reason },
        "delivery dead-lettered: retry policy exhausted",
      );
      msg.term();
    } catch (err) {
      if (err instanceof StoppedError) {
        msg.nak(HAND_BACK_MS);
        return;
      }
      // the DLQ or the state bucket did not answer: try again soon, nothing decided is lost
      logger.warn({ err, seq: msg.seq }, "could not settle a delivery; nak");
      msg.nak(1_000);
    } finally {
      working.delete(msg);
    }
  }

  // this instance's requests in flight to the destination: the events past them wait
  // their turn in arrival order (each partition of an ordered one holds one at a time)
  const turns = new Gate<Routed>(deps.concurrency, (routed) =>
    deliver(routed).catch((err) => logger.error({ err }, "unexpected delivery error")),
  );

  const loops: Loop[] = [];
  for (const d of deps.durables) {
    const inFlight = new InFlight(d.maxAckPending);
    const redriven = d.redrive === true;
    // an ordered destination's redrive durable holds one message at a time too
    const ordered = d.partition !== null || (redriven && dest.ordering === "resource");
    loops.push(
      consumeLoop({
        js,
        stream: d.stream,
        durable: d.durable,
        // an ordered partition holds one message at a time anyway (max ack pending 1)
        maxMessages: ordered ? 1 : Math.min(d.maxAckPending, 256),
        logger: logger.child({ consumer: d.durable }),
        onMessage(msg) {
          let ev: DeliveryEvent | null;
          try {
            ev = route(msg, d.partition, redriven);
          } catch (err) {
            // left unacked: it comes back after the ack wait, as any message not settled
            logger.error({ err, seq: msg.seq }, "unexpected delivery error");
            return undefined;
          }
          if (!ev) return undefined;
          const p = turns.push({ msg, ev, redriven });
          return ordered ? p : inFlight.add(p);
        },
        finishInFlight: () => inFlight.drain(),
      }),
    );
  }

  return {
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
      clearInterval(ticker);
    },
  };
}
