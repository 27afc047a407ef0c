import {
  type DlqEntry,
  type DlqLeftEntry,
  destinationDlqHandler,
  destinationOfDlqHandler,
  destinationRedriveDurableName,
  isHandlerName,
  ReplayHeader,
  replaySubject,
  type Topology,
} from "@hookstream/contracts";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { replayHeaders } from "../replay/replayHeaders";

/**
 * Where a dead letter goes back to: the subject, its headers, and the durable that takes
 * it when that durable must be checked first (a destination's: see redriveRoute).
 */
export type RedriveRoute =
  | { kind: "route"; subject: string; headers: MsgHdrs; checkDurable: string | null }
  | { kind: "unroutable"; reason: string };

/**
 * The way back for one dead letter (pure):
 * - a domain handler's (`dlq.<handler>.<type>`) → `replay.<handler>.<type>`, its `<handler>-replay` durable;
 * - a destination's (`dlq.delivery.<name>.<type>`, the delivery service's) →
 *   `replay.delivery.<name>.<type>`, that destination's `delivery-<name>-redrive` durable,
 *   with the subject, sequence and event id it was first read under (the delivery service
 *   routes and signs by them);
 * - anything else has no way back and stays in the DLQ.
 *
 * A handler's replay durable is in the catalog: every start of the handler creates it,
 * reading WEBHOOK_REPLAYS from its first message, so a redrive published before it exists
 * is still taken. A destination's redrive durable exists only while some delivery
 * instance has the destination in DESTINATIONS; one that was removed would never take
 * it, so that durable is checked before anything leaves the DLQ.
 */
export function redriveRoute(
  topology: Topology,
  entry: DlqEntry,
  headers: MsgHdrs | undefined,
): RedriveRoute {
  if (isHandlerName(entry.handler)) {
    return {
      kind: "route",
      subject: replaySubject(topology, entry.handler, entry.event_type),
      headers: replayHeaders(headers, entry.handler, false),
      checkDurable: null,
    };
  }
  const destination = destinationOfDlqHandler(entry.handler);
  if (destination === null)
    return { kind: "unroutable", reason: `no handler or destination "${entry.handler}" takes redrives` };
  if (!entry.original_subject)
    return { kind: "unroutable", reason: "the dead letter does not say where the event was first read" };
  const handler = destinationDlqHandler(destination);
  const h = replayHeaders(headers, handler, false);
  h.set(ReplayHeader.OriginalSubject, entry.original_subject);
  if (entry.original_seq !== null) h.set(ReplayHeader.OriginalSeq, String(entry.original_seq));
  if (entry.event_id !== null) h.set(ReplayHeader.EventId, entry.event_id);
  return {
    kind: "route",
    subject: replaySubject(topology, handler, entry.event_type),
    headers: h,
    checkDurable: destinationRedriveDurableName(destination),
  };
}

/** Whether a durable exists on the replay stream, asked once per redrive request. */
export type DurableCheck = (durable: string) => Promise<boolean>;

export function replayDurableCheck(jsm: JetStreamManager, topology: Topology): DurableCheck {
  const known = new Map<string, Promise<boolean>>();
  return (durable) => {
    let found = known.get(durable);
    if (!found) {
      found = jsm.consumers.info(topology.streams.replays, durable).then(
        () => true,
        (err: unknown) => {
          if (err instanceof JetStreamApiError && err.status === 404) return false;
          throw err;
        },
      );
      known.set(durable, found);
    }
    return found;
  };
}

export type RedriveOutcome = { kind: "replayed"; entry: DlqEntry } | { kind: "left"; entry: DlqLeftEntry };

/** A dead letter as read from WEBHOOK_DLQ: its entry, and the original data and headers it carries. */
export interface DeadLetterMessage {
  entry: DlqEntry;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

/**
 * Redrives dead letters one after the other (redriveDeadLetter), however they were
 * picked (a filter, the operator's sequences), with one check of the redrive durables
 * for them all.
 */
export async function redriveEach(
  js: JetStreamClient,
  jsm: JetStreamManager,
  topology: Topology,
  letters: Iterable<DeadLetterMessage> | AsyncIterable<DeadLetterMessage>,
): Promise<RedriveOutcome[]> {
  const durableExists = replayDurableCheck(jsm, topology);
  const done: RedriveOutcome[] = [];
  for await (const dead of letters)
    done.push(await redriveDeadLetter(js, jsm, topology, dead, durableExists));
  return done;
}

/**
 * Redrives one dead letter: republishes it, original data and headers, to its way back,
 * and deletes it from the DLQ only once the replay stream acknowledged it (and, for a
 * destination's, its redrive durable exists). A dead letter with no way back, or for a
 * destination no delivery instance has configured, stays in the DLQ with the reason. A crash between the publish and the delete redrives
 * it twice at worst: a handler's inbox, a destination's `webhook-id` make that harmless.
 */
export async function redriveDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  topology: Topology,
  dead: DeadLetterMessage,
  durableExists: DurableCheck,
): Promise<RedriveOutcome> {
  const { entry } = dead;
  const route = redriveRoute(topology, entry, dead.headers);
  if (route.kind === "unroutable") return { kind: "left", entry: { ...entry, reason: route.reason } };
  if (route.checkDurable !== null && !(await durableExists(route.checkDurable))) {
    const reason = `no delivery instance takes redrives for destination "${destinationOfDlqHandler(entry.handler)}" (durable ${route.checkDurable} is missing): configure it in DESTINATIONS and start the delivery service, then redrive again`;
    return { kind: "left", entry: { ...entry, reason } };
  }
  await js.publish(route.subject, dead.data, { headers: route.headers });
  await jsm.streams.deleteMessage(topology.streams.dlq, entry.seq, false);
  return { kind: "replayed", entry };
}

/** The answer of a redrive: what went back, and what stayed in the DLQ and why. */
export function redriveResult(outcomes: RedriveOutcome[]): {
  replayed: number;
  messages: DlqEntry[];
  left: DlqLeftEntry[];
} {
  const messages: DlqEntry[] = [];
  const left: DlqLeftEntry[] = [];
  for (const o of outcomes) {
    if (o.kind === "replayed") messages.push(o.entry);
    else left.push(o.entry);
  }
  return { replayed: messages.length, messages, left };
}
