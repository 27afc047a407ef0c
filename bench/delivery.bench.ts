/**
 * The delivery service against its ceiling, measured in the same run: notifications
 * delivered per second to a local receiver that answers at once, beside a minimal loop
 * that POSTs the same bodies with the same number of requests in flight
 * (bench/servers/postLoop.ts, nothing else), run with undici's pool and with Node's http
 * client: the ceiling is the faster of the two in each run. Beside them the floor
 * (bench/servers/consumeFloor.ts): the same bodies pulled from a JetStream durable, POSTed
 * and acked, and nothing else — what any delivery service on this client pays at least.
 * - The delivery service runs as production runs it (compiled `dist/main.js`, its
 *   production node flags, LOG_LEVEL=info, tracing on without an exporter), the loop
 *   and the floor compiled and run the same way (startCompiled), all pinned to the server core; the
 *   receiver (bench/servers/receiver.ts, compiled) to the load core, beside this runner.
 * - Two destinations on their own handler's notifications: `bench` (unordered, signed,
 *   DELIVERY_CONCURRENCY requests in flight) and `ordered` (`ordering: "resource"`,
 *   DELIVERY_PARTITIONS partitions of max ack pending 1: that many resources in flight),
 *   each paused while the other is measured.
 * - A run: the destination paused, BENCH_DELIVERY_EVENTS notifications published (the
 *   batch handler's body, each of its own batch; the ordered ones over
 *   BENCH_DELIVERY_RESOURCES responses), then resumed; the rate is what the receiver
 *   saw between its first and its last request, and the run ends once the durable(s)
 *   hold nothing. The loop is timed by the same receiver on the same bodies.
 * - BENCH_RUNS pairs, in an order reversed every other run; ratio = median of the
 *   per-run ratios. CPU time of the measured process per event from /proc.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { destinationDurables, type Topology } from "@hookstream/contracts";
import { publishNotification } from "@hookstream/handler-kit";
import { deleteStreams, freePort, testTopology, waitForPort } from "@hookstream/testing";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import {
  cpuMs,
  LOAD_CPU,
  type Proc,
  ROOT,
  SERVER_CPU,
  settle,
  startCompiled,
  startService,
  waitReady,
} from "./lib/proc";
import { median, RUNS, type Run, round, spreadPct, summarize } from "./lib/stats";
import type { GroupResult } from "./types";

const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";
const EVENTS = Number(process.env.BENCH_DELIVERY_EVENTS || 20_000);
const ORDERED_EVENTS = Number(process.env.BENCH_DELIVERY_ORDERED_EVENTS || 5_000);
const RESOURCES = Number(process.env.BENCH_DELIVERY_RESOURCES || 1_000);
/** requests in flight: DELIVERY_CONCURRENCY's default */
const CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY || 32);
/** an ordered destination's partitions: DELIVERY_PARTITIONS's default */
const PARTITIONS = Number(process.env.BENCH_DELIVERY_PARTITIONS || 16);
/** the longest one run may take to deliver everything */
const TIMEOUT_MS = Number(process.env.BENCH_DELIVERY_TIMEOUT_SEC || 300) * 1000;
const ADMIN_TOKEN = "bench-delivery-admin-token-0123456789";
const SECRET = `whsec_${Buffer.from("bench-delivery-signing-secret-0123456789").toString("base64")}`;

interface Receiver {
  proc: Proc;
  base: string;
}

interface Seen {
  count: number;
  first: number;
  last: number;
}

async function receiverStats(r: Receiver, path: string): Promise<Seen> {
  return (await (await fetch(`${r.base}/stats?path=${encodeURIComponent(path)}`)).json()) as Seen;
}

/** events a second between the first and the last request the receiver saw */
function rateOf(s: Seen): number {
  return s.count > 1 && s.last > s.first ? round(((s.count - 1) * 1000) / (s.last - s.first), 0) : 0;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: delivery: ${what} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The batch handler's notification of one event (services/batch-handler: batchNotification). */
function batchBody(id: string, batch: string): Record<string, unknown> {
  return {
    event_type: "batch.completed",
    event_id: id,
    resource_type: "batch",
    resource_id: batch,
    status: "completed",
    request_counts: { total: 100, completed: 100, failed: 0 },
    output_file_id: `file-out-${batch}`,
    error_file_id: null,
  };
}

function responseBody(id: string, response: string): Record<string, unknown> {
  return {
    event_type: "response.completed",
    event_id: id,
    resource_type: "response",
    resource_id: response,
    status: "completed",
    model: "gpt-4o-mini",
    usage: { input_tokens: 120, output_tokens: 480, total_tokens: 600 },
  };
}

interface Notification {
  handler: "batch" | "response";
  id: string;
  type: string;
  body: Record<string, unknown>;
}

/** One run's notifications: the batch handler's (each of its own batch), or the response handler's over RESOURCES responses. */
function notifications(handler: "batch" | "response", count: number, tag: string): Notification[] {
  return Array.from({ length: count }, (_, k) => {
    const id = `evt_${tag}_${k}`;
    return handler === "batch"
      ? { handler, id, type: "batch.completed", body: batchBody(id, `batch_${tag}_${k}`) }
      : { handler, id, type: "response.completed", body: responseBody(id, `resp_${k % RESOURCES}`) };
  });
}

/** Publishes them as the handlers do (publishNotification: subject, headers, msgID), 256 in flight. */
async function publish(js: JetStreamClient, topology: Topology, notes: Notification[]): Promise<void> {
  for (let i = 0; i < notes.length; i += 256) {
    await Promise.all(
      notes
        .slice(i, i + 256)
        .map((n) =>
          publishNotification(
            { js, topology },
            { handler: n.handler, event: { id: n.id, type: n.type }, body: n.body, force: false },
          ),
        ),
    );
  }
}

/** What the delivery service sends for them: the body as published, byte for byte. */
const bodiesOf = (notes: Notification[]) => notes.map((n) => JSON.stringify(n.body));

interface Measured {
  rate: number;
  count: number;
  cpuUsPerEvent: number;
}

export default async function run(): Promise<GroupResult> {
  const topology = testTopology("benchdlv");
  const nc = await connect({ servers: NATS_URL.split(","), noAsyncTraces: true });
  const js = jetstream(nc);
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const dir = mkdtempSync(join(tmpdir(), "hs-bench-delivery-"));
  const procs: Proc[] = [];
  const rows = {
    service: [] as Measured[],
    ceiling: [] as Measured[],
    http: [] as Measured[],
    undici: [] as Measured[],
    floor: [] as Measured[],
  };
  const floorTag = randomBytes(4).toString("hex");
  const floorStream = `BENCH_FLOOR_${floorTag}`;
  const floorSubject = `benchfloor.${floorTag}`;
  const ordered = { service: [] as Measured[], ceiling: [] as Measured[] };
  try {
    const receiverPort = await freePort();
    const receiver: Receiver = {
      proc: startCompiled(`${ROOT}/bench/servers/receiver.ts`, { PORT: String(receiverPort) }, LOAD_CPU),
      base: `http://127.0.0.1:${receiverPort}`,
    };
    procs.push(receiver.proc);
    const loopPort = await freePort();
    const loop = startCompiled(`${ROOT}/bench/servers/postLoop.ts`, { PORT: String(loopPort) }, SERVER_CPU);
    procs.push(loop);
    const floorPort = await freePort();
    const floor = startCompiled(
      `${ROOT}/bench/servers/consumeFloor.ts`,
      { PORT: String(floorPort), NATS_URL },
      SERVER_CPU,
    );
    procs.push(floor);
    await waitForPort(receiverPort, 60_000);
    await waitForPort(loopPort, 60_000);
    await waitForPort(floorPort, 60_000);
    await jsm.streams.add({ name: floorStream, subjects: [`${floorSubject}.>`] });

    const destinations = [
      { name: "bench", url: `${receiver.base}/bench`, filter: { handlers: ["batch"] }, secret: SECRET },
      {
        name: "ordered",
        url: `${receiver.base}/ordered`,
        filter: { handlers: ["response"] },
        ordering: "resource",
        secret: SECRET,
      },
    ];
    const deliveryPort = await freePort();
    const delivery = startService(
      "delivery",
      {
        NATS_URL,
        HOOKSTREAM_NAMESPACE: topology.namespace,
        DELIVERY_PORT: String(deliveryPort),
        DELIVERY_HOST: "127.0.0.1",
        ADMIN_TOKEN,
        DESTINATIONS: JSON.stringify(destinations),
        DELIVERY_CONCURRENCY: String(CONCURRENCY),
        DELIVERY_PARTITIONS: String(PARTITIONS),
        LOG_LEVEL: "info",
      },
      SERVER_CPU,
    );
    procs.push(delivery);
    const deliveryUrl = `http://127.0.0.1:${deliveryPort}`;
    await waitReady(`${deliveryUrl}/readyz`, delivery, 120_000);

    const admin = async (name: string, action: "pause" | "resume") => {
      const res = await fetch(`${deliveryUrl}/admin/destinations/${name}/${action}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: "{}",
      });
      if (!res.ok) throw new Error(`${action} ${name}: ${res.status} ${await res.text()}`);
    };
    const durablesOf = (name: string) => {
      const d = destinations.find((x) => x.name === name);
      return destinationDurables(
        topology,
        {
          name,
          source: "notifications",
          ordering: d?.ordering === "resource" ? "resource" : "none",
          filter: d?.filter ?? {},
        },
        { partitions: PARTITIONS, maxAckPending: 256 },
      );
    };
    /** what a destination's durables still hold: the largest pending (each reads the whole stream) plus every ack pending */
    const held = async (name: string) => {
      const infos = await Promise.all(durablesOf(name).map((b) => jsm.consumers.info(b.stream, b.durable)));
      return {
        pending: Math.max(0, ...infos.map((i) => i.num_pending)),
        ackPending: infos.reduce((s, i) => s + i.num_ack_pending, 0),
      };
    };
    await admin("bench", "pause");
    await admin("ordered", "pause");

    const reset = () => fetch(`${receiver.base}/reset`, { method: "POST" });

    /** what the receiver saw on `path`, with the CPU time (ms) the measured process spent on `count` events */
    const measured = async (path: string, cpu: number, count: number): Promise<Measured> => {
      const seen = await receiverStats(receiver, path);
      return { rate: rateOf(seen), count: seen.count, cpuUsPerEvent: round((cpu * 1000) / count, 0) };
    };
    /** one run of a destination: publish while paused, resume, time the receiver, pause again once drained */
    const measureService = async (name: "bench" | "ordered", notes: Notification[]): Promise<Measured> => {
      const count = notes.length;
      await publish(js, topology, notes);
      await until(`${count} events waiting for ${name}`, async () => {
        const h = await held(name);
        return h.pending + h.ackPending >= count;
      });
      await reset();
      settle();
      const before = cpuMs(delivery.child.pid);
      await admin(name, "resume");
      const path = `/${name}`;
      await until(`${count} requests at the receiver for ${name}`, async () => {
        return (await receiverStats(receiver, path)).count >= count;
      });
      await until(`${name} drained`, async () => {
        const h = await held(name);
        return h.pending === 0 && h.ackPending === 0;
      });
      const cpu = cpuMs(delivery.child.pid) - before;
      await admin(name, "pause");
      return measured(path, cpu, count);
    };
    /**
     * One timed run of a bench server (`POST /run` on `port`): the receiver reset, the
     * server's CPU time around it, the rate the receiver saw on `path`.
     */
    const timedRun = async (
      server: Proc,
      port: number,
      request: Record<string, unknown>,
      path: string,
      count: number,
      what: string,
    ): Promise<Measured> => {
      await reset();
      settle();
      const before = cpuMs(server.child.pid);
      const res = await fetch(`http://127.0.0.1:${port}/run`, {
        method: "POST",
        body: JSON.stringify({ ...request, url: `${receiver.base}${path}` }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const out = (await res.json()) as { ms: number; ok: number; failed: number };
      const cpu = cpuMs(server.child.pid) - before;
      if (out.failed > 0) throw new Error(`bench: delivery: ${what} saw ${out.failed} failed POSTs`);
      return measured(path, cpu, count);
    };
    /** the loop over the same bodies, to a path of its own */
    const measureLoop = async (
      bodies: string[],
      client: "http" | "undici",
      concurrency: number,
      path: string,
    ) => {
      const file = join(dir, `${path.slice(1)}.jsonl`);
      writeFileSync(file, `${bodies.map((b) => JSON.stringify(b)).join("\n")}\n`);
      return timedRun(
        loop,
        loopPort,
        { file, concurrency, client },
        path,
        bodies.length,
        `the ${client} loop`,
      );
    };

    /** the floor over the same bodies: published to a stream of its own, pulled from a new durable, POSTed, acked */
    let floorRuns = 0;
    const measureFloor = async (bodies: string[], path: string): Promise<Measured> => {
      const durable = `floor${floorRuns++}`;
      await jsm.consumers.add(floorStream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        max_ack_pending: 256,
      });
      for (let i = 0; i < bodies.length; i += 256)
        await Promise.all(bodies.slice(i, i + 256).map((b, k) => js.publish(`${floorSubject}.${i + k}`, b)));
      try {
        const request = { stream: floorStream, durable, count: bodies.length, concurrency: CONCURRENCY };
        return await timedRun(floor, floorPort, request, path, bodies.length, "the floor");
      } finally {
        await jsm.consumers.delete(floorStream, durable);
        await jsm.streams.purge(floorStream);
      }
    };

    // warm-up: JIT, connections, the streams' first blocks (not recorded)
    const hex = () => randomBytes(3).toString("hex");
    const warm = notifications("batch", Math.min(2_000, EVENTS), `w${hex()}`);
    await measureService("bench", warm);
    await measureLoop(bodiesOf(warm), "http", CONCURRENCY, "/warm-http");
    await measureLoop(bodiesOf(warm), "undici", CONCURRENCY, "/warm-undici");
    await measureFloor(bodiesOf(warm), "/warm-floor");
    const warmOrdered = notifications("response", Math.min(500, ORDERED_EVENTS), `wo${hex()}`);
    await measureService("ordered", warmOrdered);
    await measureLoop(bodiesOf(warmOrdered), "undici", PARTITIONS, "/warm-ordered");

    for (let i = 0; i < RUNS; i++) {
      const tag = `r${i}${hex()}`;
      // the order alternates run by run, so that neither always follows the other
      const serviceFirst = i % 2 === 0;
      const notes = notifications("batch", EVENTS, tag);
      const bodies = bodiesOf(notes);
      const loopRuns = async () => ({
        undici: await measureLoop(bodies, "undici", CONCURRENCY, "/bench-undici"),
        http: await measureLoop(bodies, "http", CONCURRENCY, "/bench-http"),
        floor: await measureFloor(bodies, "/bench-floor"),
      });
      const early = serviceFirst ? null : await loopRuns();
      const m = await measureService("bench", notes);
      const loops = early ?? (await loopRuns());
      // the ceiling: the faster loop of this run
      const ceiling = loops.undici.rate >= loops.http.rate ? loops.undici : loops.http;
      rows.service.push(m);
      rows.ceiling.push(ceiling);
      rows.http.push(loops.http);
      rows.undici.push(loops.undici);
      rows.floor.push(loops.floor);
      console.error(
        `bench: delivery run ${i + 1}/${RUNS}: ${m.rate} events/s beside the loop's ${ceiling.rate} (ratio ${round(m.rate / ceiling.rate, 3)}; undici ${loops.undici.rate}, http ${loops.http.rate}); floor ${loops.floor.rate}; CPU ${m.cpuUsPerEvent} vs ${ceiling.cpuUsPerEvent} (floor ${loops.floor.cpuUsPerEvent}) µs/event`,
      );
      const oNotes = notifications("response", ORDERED_EVENTS, `o${tag}`);
      const oEarly = serviceFirst
        ? null
        : await measureLoop(bodiesOf(oNotes), "undici", PARTITIONS, "/ordered-loop");
      const o = await measureService("ordered", oNotes);
      const oLoop = oEarly ?? (await measureLoop(bodiesOf(oNotes), "undici", PARTITIONS, "/ordered-loop"));
      ordered.service.push(o);
      ordered.ceiling.push(oLoop);
      console.error(
        `bench: delivery ordered run ${i + 1}/${RUNS}: ${o.rate} events/s with ${PARTITIONS} in flight beside the loop's ${oLoop.rate}; CPU ${o.cpuUsPerEvent} µs/event`,
      );
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await deleteStreams(jsm, topology);
    await jsm.streams.delete(floorStream).catch(() => {});
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return report(rows, ordered);
}

interface Rows {
  service: Measured[];
  /** the faster loop of each run */
  ceiling: Measured[];
  http: Measured[];
  undici: Measured[];
  floor: Measured[];
}

function report(rows: Rows, ordered: { service: Measured[]; ceiling: Measured[] }): GroupResult {
  const pair = (a: Measured[], b: Measured[]): Run[] =>
    a.map((m, i) => {
      const c = b[i]?.rate ?? null;
      return { value: m.rate, ceiling: c, ratio: c ? round(m.rate / c, 3) : null };
    });
  const cpu = (ms: Measured[]) => round(median(ms.map((m) => m.cpuUsPerEvent)), 0);
  const rate = (ms: Measured[]) => round(median(ms.map((m) => m.rate)), 0);
  const floorRatio = round(median(rows.floor.map((f, i) => f.rate / (rows.ceiling[i] as Measured).rate)), 3);
  const unordered = summarize(
    "events/s delivered (unordered destination, signed)",
    pair(rows.service, rows.ceiling),
    {
      ceiling_spread_pct: spreadPct(rows.ceiling.map((m) => m.rate)),
      cpu_us_per_event: cpu(rows.service),
      ceiling_cpu_us_per_event: cpu(rows.ceiling),
      undici_loop: rate(rows.undici),
      http_loop: rate(rows.http),
      floor: rate(rows.floor),
      floor_ratio: floorRatio,
      floor_cpu_us_per_event: cpu(rows.floor),
      in_flight: CONCURRENCY,
      events_per_run: EVENTS,
    },
  );
  const inOrder = summarize(
    `events/s delivered (ordered per resource, ${PARTITIONS} partitions: ${PARTITIONS} resources in flight)`,
    pair(ordered.service, ordered.ceiling),
    {
      ceiling_spread_pct: spreadPct(ordered.ceiling.map((m) => m.rate)),
      cpu_us_per_event: cpu(ordered.service),
      ceiling_cpu_us_per_event: cpu(ordered.ceiling),
      in_flight: PARTITIONS,
      events_per_run: ORDERED_EVENTS,
      resources: RESOURCES,
    },
  );
  const runRows = rows.service.map((m, i) => {
    const c = rows.ceiling[i] as Measured;
    const f = rows.floor[i] as Measured;
    return {
      run: i + 1,
      "delivery events/s": m.rate,
      "loop (undici) events/s": rows.undici[i]?.rate ?? "",
      "loop (http) events/s": rows.http[i]?.rate ?? "",
      ratio: round(m.rate / c.rate, 3),
      "floor events/s": f.rate,
      "floor ratio": round(f.rate / c.rate, 3),
      "delivery CPU µs/event": m.cpuUsPerEvent,
      "loop CPU µs/event": c.cpuUsPerEvent,
      "floor CPU µs/event": f.cpuUsPerEvent,
    };
  });
  const orderedRows = ordered.service.map((m, i) => ({
    run: i + 1,
    "ordered events/s": m.rate,
    [`loop (undici, ${PARTITIONS} in flight) events/s`]: ordered.ceiling[i]?.rate ?? "",
    ratio: ordered.ceiling[i] ? round(m.rate / (ordered.ceiling[i] as Measured).rate, 3) : "",
    "delivery CPU µs/event": m.cpuUsPerEvent,
  }));
  const command = `npm run bench -- delivery (BENCH_DELIVERY_EVENTS=${EVENTS}, BENCH_DELIVERY_ORDERED_EVENTS=${ORDERED_EVENTS}, BENCH_RUNS=${RUNS})`;
  return {
    results: { delivery: unordered, delivery_ordered: inOrder },
    sections: [
      {
        title: "Delivery: events per second to a receiver that answers at once, beside a minimal POST loop",
        command,
        rows: [
          ...runRows,
          {
            run: "median",
            "delivery events/s": unordered.value,
            "loop (undici) events/s": unordered.undici_loop as number,
            "loop (http) events/s": unordered.http_loop as number,
            ratio: unordered.ratio ?? "",
            "floor events/s": unordered.floor as number,
            "floor ratio": floorRatio,
            "delivery CPU µs/event": unordered.cpu_us_per_event as number,
            "loop CPU µs/event": unordered.ceiling_cpu_us_per_event as number,
            "floor CPU µs/event": unordered.floor_cpu_us_per_event as number,
          },
        ],
        notes: [
          `Delivery: ${unordered.value} events/s (spread ${unordered.spread_pct} %) beside the loop's ${unordered.ceiling} (spread ${unordered.ceiling_spread_pct} %): ratio ${unordered.ratio} (median of the per-run ratios). ${EVENTS} notifications a run, published while the destination was paused, then resumed; rates are what the receiver saw between its first and last request.`,
          `The destination: unordered, signed (Standard Webhooks), ${CONCURRENCY} requests in flight (DELIVERY_CONCURRENCY), each attempt recorded on WEBHOOK_DELIVERIES and acked. The loop (bench/servers/postLoop.ts) POSTs the same bodies, ${CONCURRENCY} at once, and does nothing else, once with undici's pool (its dispatch, as the delivery service sends) and once with Node's http client and a keep-alive agent; the ceiling of a run is the faster of the two.`,
          `The floor (bench/servers/consumeFloor.ts): the same bodies published to a stream of its own, pulled from a durable (256 ahead), POSTed with undici's pool (${CONCURRENCY} in flight) and acked (a turn's acks in one write), nothing else: ${unordered.floor} events/s, ${floorRatio} of the ceiling (median of the per-run ratios). Pulling and acking each event through JetStream costs that much before anything the delivery service adds${floorRatio < 0.7 ? ": a ratio of 0.7 is beyond the floor itself" : ""}.`,
          "All run compiled with the services' environment at LOG_LEVEL=info, pinned to the server core; the receiver (compiled) and this runner share the load core; nats-server floats. CPU µs/event: the measured process's user + system time (/proc) over the run, per event.",
        ],
      },
      {
        title: `Ordered destination: ${PARTITIONS} partitions, ${PARTITIONS} resources in flight`,
        command,
        rows: [
          ...orderedRows,
          {
            run: "median",
            "ordered events/s": inOrder.value,
            [`loop (undici, ${PARTITIONS} in flight) events/s`]: inOrder.ceiling ?? "",
            ratio: inOrder.ratio ?? "",
            "delivery CPU µs/event": inOrder.cpu_us_per_event as number,
          },
        ],
        notes: [
          `ordering "resource": ${ORDERED_EVENTS} notifications a run over ${RESOURCES} resources, hashed into ${PARTITIONS} partitions, each its own durable with max ack pending 1, so at most ${PARTITIONS} requests are in flight. Every partition's durable reads the whole stream and acks at once what is not its own: ${PARTITIONS} deliveries from the server per event. Beside it, the undici loop with ${PARTITIONS} requests in flight.`,
        ],
      },
    ],
  };
}
