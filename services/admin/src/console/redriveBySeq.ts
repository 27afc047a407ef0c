import type { Topology } from "@hookstream/contracts";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { dlqEntryOf } from "../admin/dlq";
import { type RedriveOutcome, redriveDeadLetter, replayDurableCheck } from "../admin/redriveDeadLetter";

/**
 * Redrives the dead letters the operator picked, by their DLQ sequence: the same
 * steps as `redriveDlq` (republish the way redriveDeadLetter gives, then delete from the
 * DLQ; one with no consumer to go back to stays) for a chosen set instead of a filter. A
 * seq no longer in the DLQ (redriven by someone else meanwhile) is skipped.
 */
export async function redriveBySeq(
  js: JetStreamClient,
  jsm: JetStreamManager,
  topology: Topology,
  seqs: number[],
): Promise<RedriveOutcome[]> {
  const durableExists = replayDurableCheck(jsm, topology);
  const done: RedriveOutcome[] = [];
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
    done.push(
      await redriveDeadLetter(
        js,
        jsm,
        topology,
        { entry, data: msg.data, headers: msg.header },
        durableExists,
      ),
    );
  }
  return done;
}
