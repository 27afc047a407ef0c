import { DlqHeader, MessageHeader, ReplayHeader } from "@hookstream/contracts";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";

const DLQ_HEADERS = new Set<string>(Object.values(DlqHeader).map((h) => h.toLowerCase()));

/**
 * The original headers of a message for its replay: the DLQ's own headers are
 * dropped, and so is `Nats-Msg-Id` — with it the replay stream would deduplicate a
 * second replay of the same event inside its duplicate window; the event id is in
 * the body, and the handler's inbox is what keeps a replay effectively once.
 */
export function replayHeaders(original: MsgHdrs | undefined, handler: string, force: boolean): MsgHdrs {
  const h = natsHeaders();
  if (original) {
    for (const key of original.keys()) {
      const lower = key.toLowerCase();
      if (DLQ_HEADERS.has(lower) || lower === MessageHeader.MsgId.toLowerCase()) continue;
      for (const value of original.values(key)) h.append(key, value);
    }
  }
  h.set(ReplayHeader.Target, handler);
  h.set(ReplayHeader.Force, force ? "true" : "false");
  return h;
}
