import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";

export interface ScanResult {
  /** sequences of the messages `match` accepted */
  seqs: number[];
  /** messages read */
  read: number;
  /** the scan stopped at its limit before the end of the stream */
  truncated: boolean;
  /** where a later scan continues when this one was truncated: the sequence after the last one read */
  nextSeq: number | null;
}

/**
 * Reads one subject filter of a stream, oldest first (or from `since`, or from
 * `startSeq` where an earlier scan stopped), through an
 * ordered consumer — ephemeral and unacked, so reading changes nothing — and keeps
 * the sequences of the messages `match` accepts. Bounded: it stops after `limit`
 * messages and says so. Fetches with an expiry rather than consuming, so an empty
 * range ends the scan instead of waiting for new messages.
 */
export async function scanStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  opts: { subject: string; since?: Date; startSeq?: number; limit: number },
  match: (msg: JsMsg) => boolean,
): Promise<ScanResult> {
  const info = await jsm.streams.info(stream, { subjects_filter: opts.subject });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  const result: ScanResult = { seqs: [], read: 0, truncated: false, nextSeq: null };
  if (total === 0) return result;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: opts.subject,
    ...(opts.startSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.startSeq }
      : opts.since
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: opts.since.toISOString() }
        : { deliver_policy: DeliverPolicy.All }),
  });
  let lastSeq = 0;
  try {
    for (;;) {
      const max = Math.min(1_000, opts.limit - result.read, total - result.read);
      if (max <= 0) break;
      const batch = await consumer.fetch({ max_messages: max, expires: 1_000 });
      let last: JsMsg | null = null;
      for await (const msg of batch) {
        result.read++;
        if (match(msg)) result.seqs.push(msg.seq);
        last = msg;
        lastSeq = msg.seq;
      }
      if (last === null || last.info.pending === 0) return result;
    }
    result.truncated = result.read >= opts.limit;
    if (result.truncated) result.nextSeq = lastSeq + 1;
  } finally {
    await consumer.delete().catch(() => {});
  }
  return result;
}
