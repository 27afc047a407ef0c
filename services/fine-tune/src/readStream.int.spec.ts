import { deleteStreams, testTopology } from "@hookstream/testing";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { readStream } from "./readStream";

const topology = testTopology("readstream");
const nc = await connect({ servers: inject("natsUrl").split(","), noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const stream = topology.streams.fineTuning;
await jsm.streams.add({
  name: stream,
  subjects: [`${topology.namespace}.rs.>`],
  storage: StorageType.Memory,
});
for (let i = 1; i <= 300; i++) await js.publish(`${topology.namespace}.rs.${i % 3}`, String(i));

afterAll(async () => {
  await deleteStreams(jsm, topology);
  await nc.close();
});

const consumers = async () => (await jsm.consumers.list(stream).next()).length;

describe("readStream", () => {
  it("reads exactly fromSeq..toSeq in stream order, and removes its consumer afterwards", async () => {
    const seen: number[] = [];
    const n = await readStream(js, stream, { fromSeq: 41, toSeq: 260 }, (m) => {
      seen.push(Number(m.string()));
    });
    expect(n).toBe(220);
    expect(seen).toEqual(Array.from({ length: 220 }, (_, i) => 41 + i));
    expect(await consumers()).toBe(0);
  });

  it("ends at the last message of a filtered subject, before toSeq", async () => {
    const seen: number[] = [];
    // subject .0 holds 3, 6, …, 300; ask up to 299: the last match is 297
    const n = await readStream(
      js,
      stream,
      { fromSeq: 1, toSeq: 299, filterSubject: `${topology.namespace}.rs.0` },
      (m) => {
        seen.push(Number(m.string()));
      },
    );
    expect(n).toBe(99);
    expect(seen.at(-1)).toBe(297);
    expect(await consumers()).toBe(0);
  });

  it("passes on a failure of the callback and still removes its consumer", async () => {
    await expect(
      readStream(js, stream, { fromSeq: 1, toSeq: 300 }, (m) => {
        if (Number(m.string()) === 10) throw new Error("boom at 10");
      }),
    ).rejects.toThrow("boom at 10");
    expect(await consumers()).toBe(0);
  });
});
