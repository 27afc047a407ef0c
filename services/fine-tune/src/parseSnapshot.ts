import { isJobSnapshot } from "@hookstream/contracts";
import { messageText, streamSeqOf } from "@hookstream/messaging";
import type { JsMsg } from "@nats-io/jetstream";
import type { SequencedSnapshot } from "./evolve";

/** A FINE_TUNING message as a snapshot with its sequence, or null when it is not one. */
export function parseSnapshot(
  msg: Pick<JsMsg, "data" | "seq"> & { reply?: string },
): SequencedSnapshot | null {
  try {
    const value: unknown = JSON.parse(messageText(msg.data));
    // the schema's check without its copy (isJobSnapshot is property-tested against it)
    return isJobSnapshot(value) ? { snapshot: value, seq: streamSeqOf(msg) } : null;
  } catch {
    return null;
  }
}
