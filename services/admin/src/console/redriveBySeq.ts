import type { Topology } from "@hookstream/contracts";
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { dlqEntryOf } from "../admin/dlq";
import { type DeadLetterMessage, type RedriveOutcome, redriveEach } from "../admin/redriveDeadLetter";

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
  return redriveEach(js, jsm, topology, lettersBySeq(jsm, topology, seqs));
}

/** The dead letters still in the DLQ at these sequences, each read when its turn comes. */
async function* lettersBySeq(
  jsm: JetStreamManager,
  topology: Topology,
  seqs: number[],
): AsyncGenerator<DeadLetterMessage> {
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
    yield { entry, data: msg.data, headers: msg.header };
  }
}
