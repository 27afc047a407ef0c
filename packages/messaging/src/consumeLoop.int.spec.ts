import { DEFAULT_RETRY } from "@hookstream/contracts";
import { deleteStreams, eventually, testTopology } from "@hookstream/testing";
import { type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type AckDecision, type RunBatchConsumerOptions, runBatchConsumer, runConsumer } from "./index";
import { DEFAULT_STREAM_OPTIONS, ensureConsumer, ensureStreams } from "./provision";

// Issue 8, defect 3: on stop, what was pulled but not started must go to another
// instance at once, not wait for the ack wait. The ack wait here is far longer than
// any wait in the test, so a message left to it makes the test time out.
const ACK_WAIT_MS = 120_000;
const topology = testTopology("shut");
const nc = await connect({ servers: inject("natsUrl").split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const logger = pino({ level: "silent" });
const policy = { ...DEFAULT_RETRY, ackWaitMs: ACK_WAIT_MS };
await ensureStreams(jsm, topology, DEFAULT_STREAM_OPTIONS);

afterAll(async () => {
  await deleteStreams(jsm, topology);
  await nc.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** runBatchConsumer on `durable` in batches of 10, retrying without limit. */
function batchConsumer<P>(
  durable: string,
  opts: Pick<RunBatchConsumerOptions<P>, "handleBatch" | "prepare" | "maxWaitingBatches">,
) {
  return runBatchConsumer<P>({
    js,
    stream: topology.streams.webhooks,
    durable,
    policy: { ...policy, maxDeliver: -1 },
    logger,
    maxBatch: 10,
    ...opts,
  });
}

async function consumerWith(durable: string, count: number): Promise<string[]> {
  await ensureConsumer(jsm, {
    stream: topology.streams.webhooks,
    durable,
    filterSubject: `${topology.subjects.openaiPrefix}.${durable}.>`,
    maxDeliver: 8,
    ackWaitMs: ACK_WAIT_MS,
  });
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    await js.publish(`${topology.subjects.openaiPrefix}.${durable}.x`, `m${i}`);
    sent.push(`m${i}`);
  }
  return sent;
}

async function settled(durable: string): Promise<void> {
  await eventually(
    async () => {
      const info = await jsm.consumers.info(topology.streams.webhooks, durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${durable}: every message acked` },
  );
}

describe("stop hands back what was pulled but not started (issue 8, defect 3: shutdown leaves buffered messages waiting)", () => {
  it("runConsumer: stops pulling, finishes in-flight work, and naks the buffered rest to the other instance, recording no failure", async () => {
    const durable = "single";
    const sent = await consumerWith(durable, 60);
    const handled: Array<{ by: string; data: string; attempt: number; at: number }> = [];
    const decisions: AckDecision["kind"][] = [];
    const make = (by: string, workMs: number) =>
      runConsumer({
        js,
        stream: topology.streams.webhooks,
        durable,
        policy,
        logger,
        concurrency: 4,
        async handle(msg, { attempt }) {
          handled.push({ by, data: msg.string(), attempt, at: Date.now() });
          await sleep(workMs);
        },
        async beforeSettle(_msg, decision) {
          decisions.push(decision.kind);
        },
      });
    const a = make("a", 400);
    // a has 4 in flight and more pulled behind them before b starts
    await eventually(() => handled.length >= 4, { message: "a working" });
    await sleep(200);
    const b = make("b", 5);
    const stopAt = Date.now();
    await a.stop();
    await settled(durable);
    await b.stop();

    // a started nothing after stop() and finished everything it had started
    expect(handled.filter((h) => h.by === "a" && h.at > stopAt)).toEqual([]);
    expect(handled.filter((h) => h.by === "a").length).toBeLessThanOrEqual(4 + 4);
    // every message handled exactly once, none lost, none twice
    expect(handled.map((h) => h.data).sort()).toEqual([...sent].sort());
    // handing back is no failure: nothing was nak'd through the retry decision
    expect(decisions.every((d) => d === "ack")).toBe(true);
    expect(decisions.length).toBe(sent.length);
    // and some of what b handled had been handed back by a (a second delivery)
    expect(handled.some((h) => h.by === "b" && h.attempt === 2)).toBe(true);
  });

  it("runBatchConsumer: the batch being written commits, the buffered rest goes to the other instance", async () => {
    const durable = "batched";
    const sent = await consumerWith(durable, 200);
    const written: Array<{ by: string; data: string[]; attempts: number[] }> = [];
    const make = (by: string, writeMs: number) =>
      batchConsumer(durable, {
        async handleBatch(msgs: JsMsg[]) {
          await sleep(writeMs);
          written.push({
            by,
            data: msgs.map((m) => m.string()),
            attempts: msgs.map((m) => m.info.deliveryCount),
          });
        },
      });
    const a = make("a", 300);
    await eventually(() => written.length >= 1, { message: "a writing" });
    const b = make("b", 5);
    await a.stop();
    const byAAtStop = written.filter((w) => w.by === "a").length;
    await settled(durable);
    await b.stop();

    expect(written.filter((w) => w.by === "a").length).toBe(byAAtStop);
    const all = written.flatMap((w) => w.data);
    expect(all.sort()).toEqual([...sent].sort());
    expect(written.some((w) => w.by === "b" && w.attempts.includes(2))).toBe(true);
  });
});

describe("runBatchConsumer's back-pressure", () => {
  /** How many messages were prepared beside the first batch while it was being written. */
  async function preparedDuringFirstWrite(durable: string, maxWaitingBatches?: number): Promise<number> {
    const sent = await consumerWith(durable, 120);
    let prepared = 0;
    let atFirstCommit = -1;
    let firstBatch = 0;
    const written: string[] = [];
    let release: () => void = () => {};
    const firstWrite = new Promise<void>((r) => {
      release = r;
    });
    const c = batchConsumer(durable, {
      maxWaitingBatches,
      prepare: () => {
        prepared++;
      },
      async handleBatch(msgs: JsMsg[]) {
        if (atFirstCommit === -1) {
          firstBatch = msgs.length;
          // held until the loop has stopped taking messages
          await firstWrite;
          atFirstCommit = prepared;
        }
        written.push(...msgs.map((m) => m.string()));
      },
    });
    // the loop stops at its limit: wait until the count no longer moves, then let the write end
    let last = -1;
    await eventually(
      async () => {
        const now = prepared;
        const still = now === last && now > 0;
        last = now;
        await sleep(100);
        return still;
      },
      { timeoutMs: 10_000, message: `${durable}: the loop stops taking messages` },
    );
    release();
    await settled(durable);
    await c.stop();
    expect(written.sort()).toEqual([...sent].sort());
    // (the first batch may be short: it is written as soon as nothing more is buffered)
    return atFirstCommit - firstBatch;
  }

  it("stops taking messages at one full batch beside the one being written, by default", async () => {
    // one full batch waits beside the one being written, then the loop waits
    expect(await preparedDuringFirstWrite("bp-default")).toBe(10);
  });

  it("keeps building rows ahead up to maxWaitingBatches full batches", async () => {
    // three full batches wait beside the one being written
    expect(await preparedDuringFirstWrite("bp-ahead", 3)).toBe(30);
  });
});
