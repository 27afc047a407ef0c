import { testTopology } from "@hookstream/testing";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, headers } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ackedPublisher, PublishError } from "./ackedPublisher";

const topology = testTopology("acked");
const stream = `${topology.namespace}_ACKED`;
const subject = `${topology.namespace}.acked.event`;
const servers = inject("natsUrl").split(",");
const nc = await connect({ servers, noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
const publisher = ackedPublisher(nc);
const body = new TextEncoder().encode('{"id":"evt"}');
const opts = (msgID: string, timeout = 2_000) => ({ msgID, headers: headers(), timeout });

beforeAll(async () => {
  await jsm.streams.add({
    name: stream,
    subjects: [`${topology.namespace}.acked.>`],
    storage: StorageType.Memory,
    duplicate_window: 60e9,
  });
});

afterAll(async () => {
  publisher.close();
  await jsm.streams.delete(stream).catch(() => {});
  await nc.close();
});

describe("ackedPublisher", () => {
  it("answers JetStream's ack, stores the message with its headers and msgID, and a repeat as a duplicate", async () => {
    const h = headers();
    h.append("Event-Type", "batch.completed");
    const ack = await publisher.publish(subject, body, { msgID: "evt_a", headers: h, timeout: 2_000 });
    expect(ack).toMatchObject({ stream, duplicate: false });
    expect(ack.seq).toBeGreaterThan(0);

    const again = await publisher.publish(subject, body, opts("evt_a"));
    expect(again).toMatchObject({ stream, seq: ack.seq, duplicate: true });

    const stored = await jsm.streams.getMessage(stream, { seq: ack.seq });
    if (!stored) throw new Error("the acked message is not in the stream");
    expect(stored.header.get("Nats-Msg-Id")).toBe("evt_a");
    expect(stored.header.get("Event-Type")).toBe("batch.completed");
    expect(new TextDecoder().decode(stored.data)).toBe('{"id":"evt"}');
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
    expect(publisher.pending()).toBe(0);
  });

  it("acks many concurrent publishes, each with its own sequence", async () => {
    const acks = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) => publisher.publish(subject, body, opts(`evt_many_${i}`))),
    );
    expect(new Set(acks.map((a) => a.seq)).size).toBe(2_000);
    expect(acks.every((a) => !a.duplicate)).toBe(true);
    expect(publisher.pending()).toBe(0);
  });

  it("rejects a subject no stream takes (no responders), not waiting for the timeout", async () => {
    const err = await publisher
      .publish(`${topology.namespace}.nowhere`, body, opts("evt_b", 60_000))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).reason).toBe("no_stream");
    expect(publisher.pending()).toBe(0);
  });

  it("rejects an error JetStream answers (here: the expected stream does not match)", async () => {
    const h = headers();
    h.append("Nats-Expected-Stream", "SOME_OTHER_STREAM");
    const err = await publisher
      .publish(subject, body, { msgID: "evt_c", headers: h, timeout: 2_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).reason).toBe("jetstream");
    expect((err as Error).message).toMatch(/expected stream/i);
  });

  it("times out when nothing acknowledges (a plain subscriber that never answers)", async () => {
    const silent = `${topology.namespace}.silent`;
    const sub = nc.subscribe(silent);
    await nc.flush();
    const err = await publisher.publish(silent, body, opts("evt_d", 200)).catch((e: unknown) => e);
    sub.unsubscribe();
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).reason).toBe("timeout");
    expect(publisher.pending()).toBe(0);
  });

  it("replies on its own inbox prefix (a role's NATS_INBOX_PREFIX)", async () => {
    const own = ackedPublisher(nc, { inboxPrefix: "_INBOX_acked" });
    const seen = nc.subscribe(subject, { max: 1 });
    await nc.flush();
    const ack = await own.publish(subject, body, opts("evt_e"));
    const msg = (await seen[Symbol.asyncIterator]().next()).value;
    expect(ack.duplicate).toBe(false);
    expect(msg?.reply).toMatch(/^_INBOX_acked\./);
    own.close();
  });

  it("rejects what is pending when closed, and every publish after", async () => {
    const c = await connect({ servers, noAsyncTraces: true });
    const own = ackedPublisher(c);
    const silent = `${topology.namespace}.silent2`;
    const sub = c.subscribe(silent);
    await c.flush();
    const waiting = own.publish(silent, body, opts("evt_f", 60_000)).catch((e: unknown) => e);
    await c.flush();
    expect(own.pending()).toBe(1);
    own.close();
    expect(((await waiting) as PublishError).reason).toBe("closed");
    const after = await own.publish(subject, body, opts("evt_g")).catch((e: unknown) => e);
    expect((after as PublishError).reason).toBe("closed");
    sub.unsubscribe();

    // and when the connection closes under it
    const own2 = ackedPublisher(c);
    const c2sub = c.subscribe(`${silent}.x`);
    await c.flush();
    const cut = own2.publish(`${silent}.x`, body, opts("evt_h", 60_000)).catch((e: unknown) => e);
    await c.flush();
    c2sub.unsubscribe();
    await c.close();
    expect(((await cut) as PublishError).reason).toBe("closed");
  });
});
