import { isJobSnapshot } from "@hookstream/contracts";
import { streamSeqOf } from "@hookstream/messaging";
import type { JsMsg } from "@nats-io/jetstream";
import type { SequencedSnapshot } from "./evolve";

// Buffer's own UTF-8 slice works on any Uint8Array and skips TextDecoder's per-call setup
const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;

/** A FINE_TUNING message as a snapshot with its sequence, or null when it is not one. */
export function parseSnapshot(
  msg: Pick<JsMsg, "data" | "seq"> & { reply?: string },
): SequencedSnapshot | null {
  try {
    const value: unknown = JSON.parse(utf8Slice.call(msg.data, 0, msg.data.length));
    // the schema's check without its copy (isJobSnapshot is property-tested against it)
    return isJobSnapshot(value) ? { snapshot: value, seq: streamSeqOf(msg) } : null;
  } catch {
    return null;
  }
}
