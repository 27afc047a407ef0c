import {
  type HandlerName,
  MessageHeader,
  OpenAIEvent,
  type Outcome,
  type Topology,
} from "@hookstream/contracts";
import {
  type AckDecision,
  type DeadLetter,
  deadLetter,
  errorMessage,
  HandBackError,
  publishOutcome,
} from "@hookstream/messaging";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { HandlerMetrics } from "./handlerMetrics";
import type { DeliveryVerdict } from "./processDelivery";

export interface OutcomeDeps {
  handler: HandlerName;
  js: JetStreamClient;
  topology: Topology;
  metrics: HandlerMetrics;
  now: () => Date;
}

export interface EventRef {
  id: string;
  type: string;
}

/** The event's id and type from the contract headers, else from the body, else from the sequence. */
export function eventRef(data: Uint8Array, headers: MsgHdrs | undefined, seq: number): EventRef {
  const id = headers?.get(MessageHeader.MsgId);
  const type = headers?.get(MessageHeader.EventType);
  if (id && type) return { id, type };
  try {
    const parsed = OpenAIEvent.safeParse(JSON.parse(new TextDecoder().decode(data)));
    if (parsed.success) return { id: parsed.data.id, type: parsed.data.type };
  } catch {
    // not JSON: named by its sequence below
  }
  return { id: `seq-${seq}`, type: "unknown" };
}

/** A dead letter as deadLetter() writes it, named by its event ref, with what the outcome needs. */
export interface DeadLetterReport
  extends Pick<DeadLetter, "data" | "headers" | "originalSubject" | "originalSeq" | "attempts" | "error"> {
  ref: EventRef;
  reason: string;
  /** the WEBHOOKS sequence, or null for a replay */
  streamSeq: number | null;
  replay: boolean;
}

/**
 * Writes the dead letter (the original message and the last error) and then the
 * `dead` outcome: the one path for a message terminated by decideAck and for one
 * reported by the server's MAX_DELIVERIES advisory.
 */
export async function deadLetterAndReport(deps: OutcomeDeps, r: DeadLetterReport): Promise<void> {
  await deadLetter(deps.js, deps.topology, {
    handler: deps.handler,
    eventId: r.ref.id,
    eventType: r.ref.type,
    data: r.data,
    headers: r.headers,
    originalSubject: r.originalSubject,
    originalSeq: r.originalSeq,
    attempts: r.attempts,
    error: r.error,
    at: deps.now(),
  });
  deps.metrics.dead.inc({ reason: r.reason });
  await publishOutcome(deps.js, deps.topology, {
    event_id: r.ref.id,
    event_type: r.ref.type,
    handler: deps.handler,
    status: "dead",
    attempt: r.attempts,
    error: r.error,
    at: deps.now().toISOString(),
    stream_seq: r.streamSeq,
    replay: r.replay,
  });
}

/** What an attempt that did not fail says in its outcome's `error`: why ignored, or a processed note. */
function verdictNote(verdict: DeliveryVerdict | undefined): string | null {
  if (verdict?.kind === "ignored") return verdict.reason;
  if (verdict?.kind === "processed") return verdict.note ?? null;
  return null;
}

/**
 * Reports one attempt before its message is settled: the outcome event (processed,
 * ignored, failed) or, for a term, the dead letter and the `dead` outcome.
 * - An event found already handled is still reported processed (`skipped: true`): the
 *   attempt that did the work may have died between its inbox commit and its outcome,
 *   and the audit's fold makes a repeated "processed" harmless.
 * - A message handed back (the service stopping) is no attempt: nothing is recorded.
 */
export async function reportAttempt(
  deps: OutcomeDeps,
  msg: JsMsg,
  decision: AckDecision,
  error: unknown | null,
  verdict: DeliveryVerdict | undefined,
  replay: boolean,
): Promise<void> {
  if (error instanceof HandBackError) return;
  const ref = eventRef(msg.data, msg.headers, msg.seq);
  const attempt = msg.info.deliveryCount;
  const streamSeq = replay ? null : msg.seq;
  if (decision.kind === "term") {
    const message = error === null ? "unknown error" : errorMessage(error);
    await deadLetterAndReport(deps, {
      ref,
      data: msg.data,
      headers: msg.headers,
      originalSubject: msg.subject,
      originalSeq: msg.seq,
      attempts: attempt,
      error: `${decision.reason}: ${message}`,
      reason: decision.reason,
      streamSeq,
      replay,
    });
    return;
  }
  const outcome: Outcome = {
    event_id: ref.id,
    event_type: ref.type,
    handler: deps.handler,
    status: decision.kind === "nak" ? "failed" : verdict?.kind === "ignored" ? "ignored" : "processed",
    attempt,
    error: error !== null ? errorMessage(error) : verdictNote(verdict),
    at: deps.now().toISOString(),
    stream_seq: streamSeq,
    replay,
    ...(verdict?.kind === "skipped" ? { skipped: true } : {}),
  };
  if (decision.kind === "nak") deps.metrics.retried.inc();
  else if (verdict?.kind === "processed") deps.metrics.processed.inc();
  await publishOutcome(deps.js, deps.topology, outcome);
}
