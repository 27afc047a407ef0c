import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * An ordered, headers-only consumer of the stream. Right after a cluster lost its
 * leader, creating one can time out while the stream elects a new leader: ask again,
 * for up to `withinMs`.
 */
async function orderedConsumerOf(nc: NatsConnection, stream: string, withinMs = 30_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await jetstream(nc).consumers.get(stream, { headers_only: true });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * How many messages of a stream carry each `Nats-Msg-Id`, read with an ordered,
 * headers-only consumer from the first to the last sequence. The check "each event
 * id is in WEBHOOKS exactly once" can fail, unlike a count of rows under a unique key.
 */
export async function msgIdCounts(nc: NatsConnection, stream: string): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const counts = new Map<string, number>();
  if (state.messages === 0) return counts;
  const consumer = await orderedConsumerOf(nc, stream);
  const iter = await consumer.consume({ max_messages: 1_000 });
  for await (const m of iter) {
    const id = m.headers?.get("Nats-Msg-Id") || `(no Nats-Msg-Id, seq ${m.seq})`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    if (m.seq >= state.last_seq) break;
  }
  return counts;
}

/** Throws, naming examples, unless each id is in the stream exactly once and no other id repeats. */
export async function expectEachIdOnceInStream(
  nc: NatsConnection,
  stream: string,
  ids: Iterable<string>,
): Promise<void> {
  const counts = await msgIdCounts(nc, stream);
  const missing: string[] = [];
  for (const id of ids) if (!counts.has(id)) missing.push(id);
  const repeated = [...counts].filter(([, n]) => n > 1);
  if (missing.length > 0 || repeated.length > 0) {
    throw new Error(
      `${stream}: ${missing.length} ids missing (e.g. ${missing.slice(0, 3).join(", ")}), ` +
        `${repeated.length} stored more than once (e.g. ${repeated
          .slice(0, 3)
          .map(([id, n]) => `${id}×${n}`)
          .join(", ")})`,
    );
  }
}

/** Names of every stream on the server. */
export async function streamNames(jsm: JetStreamManager): Promise<string[]> {
  const names: string[] = [];
  for await (const s of jsm.streams.list()) names.push(s.config.name);
  return names;
}

/**
 * Deletes every stream of a test namespace — those its topology names and any other a
 * service made under it (names hold the unique namespace) — and nothing else. Then
 * checks that none is left: a leak fails the test that made it.
 */
export async function deleteNamespaceStreams(jsm: JetStreamManager, namespace: string): Promise<string[]> {
  const ours = (await streamNames(jsm)).filter((name) => name.includes(namespace));
  for (const name of ours) await jsm.streams.delete(name).catch(() => false);
  const left = (await streamNames(jsm)).filter((name) => name.includes(namespace));
  if (left.length > 0) throw new Error(`streams of namespace ${namespace} left behind: ${left.join(", ")}`);
  return ours;
}
