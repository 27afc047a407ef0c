import { DlqHeader, dlqSubject, type Topology } from "@hookstream/contracts";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";

export interface DeadLetter {
  handler: string;
  eventId: string;
  eventType: string;
  /** the original message, byte for byte, with its headers */
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  originalSubject: string;
  originalSeq: number;
  attempts: number;
  error: string;
  at: Date;
  /** the dedup id, when one event may die more than once at the same original (a redrive of it) */
  msgId?: string;
}

/** Header values may not hold line breaks; an error message is kept to one line. */
function oneLine(s: string, max = 1_000): string {
  return s.replace(/[\r\n]+/g, " ").slice(0, max);
}

/**
 * Writes the original message plus why it died to `dlq.<handler>.<type>`. Written
 * before the message is terminated, so a crash in between leaves it to be
 * redelivered (and dead-lettered again: the msgID makes that count once).
 */
export async function deadLetter(js: JetStreamClient, topology: Topology, dl: DeadLetter): Promise<void> {
  const h = natsHeaders();
  if (dl.headers) {
    for (const [key, values] of dl.headers) {
      // the original dedup id would make the DLQ drop a second event's dead letter
      if (key.toLowerCase() === "nats-msg-id") continue;
      for (const v of values) h.append(key, v);
    }
  }
  h.set(DlqHeader.Handler, dl.handler);
  h.set(DlqHeader.Attempts, String(dl.attempts));
  h.set(DlqHeader.Error, oneLine(dl.error));
  h.set(DlqHeader.DeadAt, dl.at.toISOString());
  h.set(DlqHeader.OriginalSubject, dl.originalSubject);
  h.set(DlqHeader.OriginalSeq, String(dl.originalSeq));
  h.set(DlqHeader.EventId, dl.eventId);
  h.set(DlqHeader.EventType, dl.eventType);
  await js.publish(dlqSubject(topology, dl.handler, dl.eventType), dl.data, {
    headers: h,
    msgID: dl.msgId ?? `${dl.handler}:${dl.eventId}:dlq:${dl.originalSubject}:${dl.originalSeq}`,
  });
}
