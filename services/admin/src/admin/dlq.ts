import { type DlqEntry, DlqHeader, type HandlerName, type Topology } from "@hookstream/contracts";
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { type RedriveOutcome, redriveEach } from "./redriveDeadLetter";

export interface DlqFilter {
  handler?: HandlerName;
  type?: string;
  since?: Date;
}

export function dlqFilterSubject(topology: Topology, filter: DlqFilter): string {
  return `${topology.subjects.dlqPrefix}.${filter.handler ?? "*"}.${filter.type ?? ">"}`;
}

/** What a dead letter holds, as the admin API lists it: from its headers, the subject as fallback. */
export function dlqEntryOf(
  topology: Topology,
  msg: { seq: number; subject: string; headers: MsgHdrs | undefined; storedAt: Date },
): DlqEntry {
  const h = (name: string) => msg.headers?.get(name) || null;
  // subject dlq.<handler>.<type>: the headers say the same, the subject is the fallback
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
    stored_at: msg.storedAt.toISOString(),
  };
}

/**
 * Reads the matching dead letters with an ordered (ephemeral, unacked) consumer: reading
 * never changes the DLQ. At most `limit` are returned, oldest first.
 */
export async function readDlq(
  js: JetStreamClient,
  jsm: JetStreamManager,
  topology: Topology,
  filter: DlqFilter,
  limit: number,
): Promise<Array<{ entry: DlqEntry; msg: JsMsg }>> {
  const stream = topology.streams.dlq;
  const subject = dlqFilterSubject(topology, filter);
  // skip the consumer (and its fetch timeout) when nothing matches at all
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  // a fetch waits for its full count until it expires: ask for no more than there are
  let remaining = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  if (remaining === 0) return [];
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    ...(filter.since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: filter.since.toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const out: Array<{ entry: DlqEntry; msg: JsMsg }> = [];
  try {
    while (out.length < limit) {
      const max = Math.min(256, limit - out.length, remaining);
      const batch = await consumer.fetch({ max_messages: max, expires: 1_000 });
      let last: JsMsg | null = null;
      for await (const msg of batch) {
        out.push({
          entry: dlqEntryOf(topology, {
            seq: msg.seq,
            subject: msg.subject,
            headers: msg.headers,
            storedAt: new Date(Math.floor(msg.info.timestampNanos / 1e6)),
          }),
          msg,
        });
        last = msg;
      }
      if (last === null || last.info.pending === 0) break;
      remaining = last.info.pending;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return out;
}

/**
 * Redrive: each matching dead letter goes back the way redriveDeadLetter gives it (a
 * domain handler's to `replay.<handler>.<type>`, a destination's to
 * `replay.delivery.<name>.<type>`) and, once the replay stream acknowledged it, is deleted
 * from the DLQ; one that has no consumer to go back to stays, with the reason.
 */
export async function redriveDlq(
  js: JetStreamClient,
  jsm: JetStreamManager,
  topology: Topology,
  filter: DlqFilter,
  limit: number,
): Promise<RedriveOutcome[]> {
  const found = await readDlq(js, jsm, topology, filter, limit);
  return redriveEach(
    js,
    jsm,
    topology,
    found.map(({ entry, msg }) => ({ entry, data: msg.data, headers: msg.headers })),
  );
}
