import { isJobSnapshot, type JobSnapshot } from "@hookstream/contracts";
import { storableTime } from "@hookstream/db";
import { messageText, streamSeqOf } from "@hookstream/messaging";
import type { JsMsg } from "@nats-io/jetstream";
import type { SequencedSnapshot } from "./evolve";

/** unix seconds Postgres can store as a timestamptz (or null: no time) */
const storableSeconds = (s: number | null) => s === null || storableTime(s * 1000);

/** Whether every time of the snapshot fits a timestamptz column. */
function storableTimes(s: JobSnapshot): boolean {
  return (
    storableSeconds(s.event_created_at) &&
    storableSeconds(s.job.created_at) &&
    storableSeconds(s.job.finished_at)
  );
}

/**
 * A FINE_TUNING message as a snapshot with its sequence, or null when it is not one —
 * or when one of its times is none Postgres can store (an event `created_at` of 1e13
 * passes the schema): written, it would fail every batch of the live consumer, which
 * never dead-letters, and every rebuild. Skipped alike by both; it stays in the stream.
 */
export function parseSnapshot(
  msg: Pick<JsMsg, "data" | "seq"> & { reply?: string },
): SequencedSnapshot | null {
  try {
    const value: unknown = JSON.parse(messageText(msg.data));
    // the schema's check without its copy (isJobSnapshot is property-tested against it)
    return isJobSnapshot(value) && storableTimes(value) ? { snapshot: value, seq: streamSeqOf(msg) } : null;
  } catch {
    return null;
  }
}
