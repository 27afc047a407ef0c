import { type DlqEntry, DlqHeader, replaySubject, type Topology } from "@hookstream/contracts";
import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from "@nats-io/jetstream";
import { replayHeaders } from "../replayHeaders";

function entryOf(topology: Topology, msg: StoredMsg): DlqEntry {
  const h = (name: string) => msg.header?.get(name) || null;
  const rest = msg.subject.slice(topology.subjects.dlqPrefix.length + 1);
  const dot = rest.indexOf(".");
  const num = (v: string | null) => (v !== null && /^\d+$/.test(v) ? Number(v) : null);
  return {
    seq: msg.seq,
    subject: msg.subject,
    handler: h(DlqHeader.Handler) ?? rest.slice(0, dot),
    event_type: h(DlqHeader.EventType) ?? rest.slice(dot + 1),
    event_id: h(DlqHeader.EventId),
    attempts: num(h(DlqHeader.Attempts)),
    error: h(DlqHeader.Error),
    dead_at: h(DlqHeader.DeadAt),
    original_subject: h(DlqHeader.OriginalSubject),
    original_seq: num(h(DlqHeader.OriginalSeq)),
    stored_at: msg.time.toISOString(),
  };
}

/**
 * Redrives the dead letters the operator picked, by their DLQ sequence: the same
 * steps as `redriveDlq` (republish to `replay.<handler>.<type>`, then delete from the
 * DLQ) for a chosen set instead of a filter. A seq no longer in the DLQ (redriven by
 * someone else meanwhile) is skipped; the result lists what was redriven.
 */
export async function redriveBySeq(
  js: JetStreamClient,
  jsm: JetStreamManager,
  topology: Topology,
  seqs: number[],
): Promise<DlqEntry[]> {
  const done: DlqEntry[] = [];
  for (const seq of new Set(seqs)) {
    const msg = await jsm.streams.getMessage(topology.streams.dlq, { seq }).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.status === 404) return null;
      throw err;
    });
    if (!msg) continue;
    const entry = entryOf(topology, msg);
    await js.publish(replaySubject(topology, entry.handler, entry.event_type), msg.data, {
      headers: replayHeaders(msg.header, entry.handler, false),
    });
    await jsm.streams.deleteMessage(topology.streams.dlq, seq, false);
    done.push(entry);
  }
  return done;
}
