/** The durable consumers' backlog, read from the server (every stream, every consumer). */
import type { JetStreamManager } from "@nats-io/jetstream";

/** The largest backlog of any durable: messages not yet delivered plus delivered and not acked. */
export async function maxLag(jsm: JetStreamManager): Promise<number> {
  let max = 0;
  for await (const s of jsm.streams.list()) {
    for await (const c of jsm.consumers.list(s.config.name)) {
      max = Math.max(max, c.num_pending + c.num_ack_pending);
    }
  }
  return max;
}

/** Every durable with work left, as "stream/durable: n pending, m ack pending". */
export async function pendingWork(jsm: JetStreamManager): Promise<string[]> {
  const out: string[] = [];
  for await (const s of jsm.streams.list()) {
    for await (const c of jsm.consumers.list(s.config.name)) {
      if (c.num_pending + c.num_ack_pending > 0)
        out.push(`${s.config.name}/${c.name}: ${c.num_pending} pending, ${c.num_ack_pending} ack pending`);
    }
  }
  return out;
}

/**
 * Messages held by the streams the system publishes to (KV buckets left out): each was
 * published with a `Nats-Msg-Id`, which nats-server remembers for the duplicate window
 * (BENCHMARKS.md, "nats-server memory").
 */
export async function storedWithIds(jsm: JetStreamManager): Promise<number> {
  let n = 0;
  for await (const s of jsm.streams.list()) if (!s.config.name.startsWith("KV_")) n += s.state.messages;
  return n;
}
