import { type DlqEntry, replaySubject, type Topology } from "@hookstream/contracts";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { dlqEntryOf } from "../admin/dlq";
import { replayHeaders } from "../replay/replayHeaders";

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
    const entry = dlqEntryOf(topology, {
      seq: msg.seq,
      subject: msg.subject,
      headers: msg.header,
      storedAt: msg.time,
    });
    await js.publish(replaySubject(topology, entry.handler, entry.event_type), msg.data, {
      headers: replayHeaders(msg.header, entry.handler, false),
    });
    await jsm.streams.deleteMessage(topology.streams.dlq, seq, false);
    done.push(entry);
  }
  return done;
}
