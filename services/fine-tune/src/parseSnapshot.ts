import { JobSnapshot } from "@hookstream/contracts";
import type { JsMsg } from "@nats-io/jetstream";
import type { SequencedSnapshot } from "./evolve";

const decoder = new TextDecoder();

/** A FINE_TUNING message as a snapshot with its sequence, or null when it is not one. */
export function parseSnapshot(msg: Pick<JsMsg, "data" | "seq">): SequencedSnapshot | null {
  try {
    const parsed = JobSnapshot.safeParse(JSON.parse(decoder.decode(msg.data)));
    return parsed.success ? { snapshot: parsed.data, seq: msg.seq } : null;
  } catch {
    return null;
  }
}
