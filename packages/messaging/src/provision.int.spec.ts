import { DEFAULT_RETRY } from "@hookstream/contracts";
import { deleteStreams, testTopology } from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { PermanentError } from "./errors";
import { DEFAULT_STREAM_OPTIONS, ensureConsumer, ensureStreams } from "./provision";
import { runConsumer } from "./runConsumer";

const topology = testTopology("prov");
const nc = await connect({ servers: inject("natsUrl").split(",") });
const jsm = await jetstreamManager(nc);

afterAll(async () => {
  await deleteStreams(jsm, topology);
  await nc.close();
});

describe("ensureStreams", () => {
  it("creates every stream and is idempotent when several instances start at once", async () => {
    const opts = { ...DEFAULT_STREAM_OPTIONS, duplicateWindowMs: 60_000 };
    await Promise.all([ensureStreams(jsm, topology, opts), ensureStreams(jsm, topology, opts)]);
    await ensureStreams(jsm, topology, opts);
    for (const name of Object.values(topology.streams)) {
      const info = await jsm.streams.info(name);
      expect(info.config.name).toBe(name);
    }
    const info = await jsm.streams.info(topology.streams.webhooks);
    expect(info.config.duplicate_window).toBe(60_000 * 1_000_000);
  });

  it("updates the duplicate window of an existing stream", async () => {
    await ensureStreams(jsm, topology, { ...DEFAULT_STREAM_OPTIONS, duplicateWindowMs: 120_000 });
    const info = await jsm.streams.info(topology.streams.webhooks);
    expect(info.config.duplicate_window).toBe(120_000 * 1_000_000);
  });
});

describe("runConsumer", () => {
  it("acks work that succeeds, naks a retryable failure and terms a permanent one", async () => {
    const durable = "runner";
    await ensureConsumer(jsm, {
      stream: topology.streams.webhooks,
      durable,
      filterSubject: `${topology.subjects.openaiPrefix}.>`,
      maxDeliver: 3,
      ackWaitMs: 5_000,
    });
    const js = jetstream(nc);
    const seen: Array<{ data: string; attempt: number }> = [];
    const decisions: string[] = [];
    const runner = runConsumer({
      js,
      stream: topology.streams.webhooks,
      durable,
      policy: { ...DEFAULT_RETRY, maxDeliver: 3, baseDelayMs: 50, maxDelayMs: 200, ackWaitMs: 5_000 },
      logger: (await import("pino")).pino({ level: "silent" }),
      async handle(msg, { attempt }) {
        const data = msg.string();
        seen.push({ data, attempt });
        if (data === "perm") throw new PermanentError("bad");
        if (data === "flaky" && attempt < 2) throw new Error("try again");
      },
      async beforeSettle(msg, decision) {
        decisions.push(`${msg.string()}:${decision.kind}`);
      },
    });
    for (const data of ["ok", "flaky", "perm"]) await js.publish(`${topology.subjects.openaiPrefix}.x`, data);
    const deadline = Date.now() + 10_000;
    while (decisions.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await runner.stop();
    expect(decisions.sort()).toEqual(["flaky:ack", "flaky:nak", "ok:ack", "perm:term"]);
    expect(seen.filter((s) => s.data === "flaky").map((s) => s.attempt)).toEqual([1, 2]);
  });
});
