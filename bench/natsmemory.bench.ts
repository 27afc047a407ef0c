/**
 * What nats-server's memory grows with while hookstream runs: the soak saw its RSS
 * rise through the hour (bench/soak.json, `nats-server`) while every hookstream
 * service stayed flat. Every message hookstream publishes carries a `Nats-Msg-Id`
 * (the event id, a notification's key, a record's key), and JetStream remembers each
 * id for the stream's duplicate window (WEBHOOK_DUPLICATE_WINDOW_MS, default 2 h) to
 * drop a second copy. That table is held in memory: it grows with every id published
 * until the window is full, and JetStream forgets an id once it is older than the window.
 *
 * Two runs, each on a nats-server of its own (fresh store, loopback), publishing
 * webhook-sized bodies the way the gateway does (messaging's ackedPublisher, a msgID
 * each) into a stream made by the provisioning step's spec (streamSpecs: the WEBHOOKS
 * stream):
 * - `ids`: BENCH_NATSMEM_MESSAGES with the default 2 h window;
 * - the same with a 1 s window (ids forgotten at once): the store and its cache alone.
 * The difference between the two growths, over the ids, is what one id costs.
 */
import { ackedPublisher, DEFAULT_STREAM_OPTIONS, streamSpecs } from "@hookstream/messaging";
import { NatsServerProcess, testTopology } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, headers } from "@nats-io/transport-node";
import { rssMiB } from "./lib/proc";
import { round } from "./lib/stats";
import type { GroupResult } from "./types";

const MESSAGES = Number(process.env.BENCH_NATSMEM_MESSAGES || 300_000);
/** publishes in flight */
const IN_FLIGHT = 256;

const num = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 1 });

/** nats-server's resident memory now (bench/lib/proc.ts's reading). */
function natsRss(server: NatsServerProcess): number {
  const mib = rssMiB(server.pid);
  if (mib === null) throw new Error("bench: natsmemory: nats-server is not running");
  return mib;
}

/** A webhook-sized body (a batch.completed event as OpenAI sends it, ~600 bytes). */
function body(i: number): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      id: `evt_${i.toString(16).padStart(24, "0")}`,
      object: "event",
      created_at: 1_760_000_000 + i,
      type: "batch.completed",
      data: { id: `batch_${i.toString(16).padStart(24, "0")}`, object: "batch", status: "completed" },
      pad: "x".repeat(400),
    }),
  );
}

interface Server {
  server: NatsServerProcess;
  publish(i: number): Promise<unknown>;
  close(): Promise<void>;
}

/** A nats-server of its own with the WEBHOOKS stream of the given duplicate window. */
async function serverWith(windowMs: number): Promise<Server> {
  const server = await NatsServerProcess.start();
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  const topology = testTopology("benchnatsmem");
  const spec = streamSpecs(topology, { ...DEFAULT_STREAM_OPTIONS, duplicateWindowMs: windowMs }).find(
    (s) => s.name === topology.streams.webhooks,
  );
  if (!spec) throw new Error("bench: natsmemory: no WEBHOOKS stream spec");
  await (await jetstreamManager(nc)).streams.add(spec);
  const publisher = ackedPublisher(nc);
  const prefix = topology.subjects.webhooksAll.slice(0, -1);
  return {
    server,
    publish: (i) =>
      publisher.publish(`${prefix}openai.batch.completed`, body(i), {
        msgID: `evt_${i.toString(16).padStart(24, "0")}`,
        headers: headers(),
        timeout: 30_000,
      }),
    async close() {
      await nc.close();
      await server.destroy();
    },
  };
}

/** Publishes `count` messages from `from`, IN_FLIGHT at a time. */
async function publishAll(s: Server, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += IN_FLIGHT) {
    const n = Math.min(IN_FLIGHT, from + count - i);
    await Promise.all(Array.from({ length: n }, (_, k) => s.publish(i + k)));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 5_000));

interface Growth {
  window: string;
  start: number;
  end: number;
}

async function growth(windowMs: number, label: string): Promise<Growth> {
  const s = await serverWith(windowMs);
  try {
    await settle();
    const start = natsRss(s.server);
    await publishAll(s, 0, MESSAGES);
    await settle();
    return { window: label, start, end: natsRss(s.server) };
  } finally {
    await s.close();
  }
}

export default async function run(): Promise<GroupResult> {
  const window = DEFAULT_STREAM_OPTIONS.duplicateWindowMs;
  const withIds = await growth(window, `${window / 3_600_000} h (the default)`);
  console.error(`bench: natsmemory: ${MESSAGES} ids, 2 h window: ${withIds.start} → ${withIds.end} MiB`);
  const without = await growth(1_000, "1 s (ids forgotten at once)");
  console.error(`bench: natsmemory: ${MESSAGES} ids, 1 s window: ${without.start} → ${without.end} MiB`);

  const idBytes = ((withIds.end - withIds.start - (without.end - without.start)) * 1024 * 1024) / MESSAGES;
  return {
    sections: [
      {
        title: "nats-server memory: the duplicate window's id table",
        command: `npm run bench -- natsmemory (${MESSAGES} messages of ~600 bytes, ${IN_FLIGHT} publishes in flight, a nats-server of its own per run)`,
        rows: [
          ...[withIds, without].map((g) => ({
            "duplicate window": g.window,
            messages: MESSAGES,
            "RSS before MiB": num(g.start),
            "RSS after MiB": num(g.end),
            "growth MiB": num(round(g.end - g.start, 1)),
          })),
        ],
        notes: [
          `Each message id remembered for the duplicate window costs about ${num(round(idBytes, 0))} bytes of nats-server memory: the growth with the 2 h window less the growth with a 1 s one (the store and its cache alone), over ${MESSAGES} ids.`,
          "So nats-server needs memory for every id published within the window: the sum of the rates of every stream's publishes (events, notifications, outcomes, delivery records) times WEBHOOK_DUPLICATE_WINDOW_MS times the bytes above. JetStream forgets an id once it is older than the window, so the table stops growing once the window is full; an hour's soak does not fill the default 2 h window, so its nats-server grows through the whole run. docs/operations.md, Sizing, says how to size it.",
        ],
      },
    ],
    results: {},
  };
}
