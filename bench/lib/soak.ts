/**
 * The soak: the whole system (bench/lib/system.ts, every service of the catalog as
 * `npm start` runs it) fed signed events of every type at a fixed rate for a given
 * time, while one service in turn is SIGKILLed and restarted every `killEveryMs` and,
 * once mid-run, its nats-server; then the checks an operator cares about after a
 * week: nothing acknowledged lost, nothing doubled beyond the crash window, the
 * projection equal to a fold of its stream, no consumer left with work. Latency, lag
 * and memory are kept per window. `runSoak` measures and checks; bench/soak.ts writes
 * the files, and tests/faults/soak.fault.spec.ts runs a short one in `npm test`.
 */
import { randomBytes } from "node:crypto";
import {
  HANDLER_NAMES,
  HANDLERS,
  handlerForType,
  KNOWN_EVENT_TYPES,
  makeTopology,
  SERVICES,
} from "@hookstream/contracts";
import { foldAll, parseSnapshot, readStream, type SequencedSnapshot } from "@hookstream/fine-tune";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { maxLag, pendingWork, storedWithIds } from "./consumers";
import { rssMiB } from "./proc";
import { RowWatcher } from "./rowWatcher";
import { percentile, round } from "./stats";
import { catalogServices, RunningSystem } from "./system";
import { Traffic } from "./traffic";

export interface SoakOptions {
  minutes: number;
  rate: number;
  databaseServerUrl: string;
  /** time between two kills (default: 5 min from 60 minutes on, else minutes / 12) */
  killEveryMs?: number;
  /** what is killed, in turn (default: every service of the catalog, in its order) */
  killOrder?: string[];
  /** at most this many service kills (default: as many as fit) */
  maxKills?: number;
  /** SIGKILL the nats-server once, mid-run (default true) */
  natsKill?: boolean;
  /** RSS after the warm-up is the drift's baseline (default: 10 min, or minutes / 6 when shorter) */
  warmupMs?: number;
  /** one row of the report per window (default: 5 min from 60 minutes on, else minutes / 12) */
  windowMs?: number;
  /** how long the end may wait for the last work to drain while it moves (default 15 min) */
  drainMs?: number;
  /** the event types sent, in turn (default: every type OpenAI sends) */
  types?: readonly string[];
  /** more environment for every service (default: none, the services' defaults) */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

/** bench/soak.json (issue 25's shape). */
export interface SoakJson {
  minutes: number;
  rate: number;
  sent: number;
  accepted: number;
  audited: number;
  lost: number;
  doubled: number;
  /** the longest time, in ms, from a notification's first copy to the kill that repeated it */
  crash_window: number;
  notifications: { expected: number; received: number; repeated: number };
  rss_mib: Record<string, { warm: number; end: number; drift: number }>;
  /** messages the run's streams hold at the end, each published with a Nats-Msg-Id (nats-server's memory grows with them) */
  nats_messages_with_ids: number;
  windows: SoakWindow[];
}

export interface SoakWindow {
  from_min: number;
  to_min: number;
  rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
  notify_p99_ms: number | null;
  max_lag: number;
  kill: string | null;
}

export interface Kill {
  target: string;
  atMin: number;
  killedAt: number;
  /** from the kill until it answered /readyz again */
  downMs: number;
}

export interface SoakReport {
  json: SoakJson;
  kills: Kill[];
  /** every check, with what it found */
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  /** memory over time, for the plot: minutes since start, MiB by process */
  memory: Array<{ atMin: number; rss: Record<string, number | null>; heap: Record<string, number | null> }>;
  /** details beside the JSON: the lost and doubled, broken down */
  detail: Record<string, unknown>;
  startedAt: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a notification repeated after a kill counts as the crash window's when its first copy came at most this long before the kill: a handler's ack wait (its lease), the longest an attempt lives */
const CRASH_WINDOW_LIMIT_MS = 30_000;
/** the drain gives up when nothing moved for this long: longer than a handler's ack wait (30 s), after which redeliveries move again */
const STILL_MS = 90_000;

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? ((line: string) => console.error(`soak: ${line}`));
  const durationMs = Math.round(opts.minutes * 60_000);
  const long = opts.minutes >= 60;
  const killEveryMs = opts.killEveryMs ?? (long ? 5 * 60_000 : durationMs / 12);
  const windowMs = opts.windowMs ?? (long ? 5 * 60_000 : durationMs / 12);
  const warmupMs = opts.warmupMs ?? Math.min(10 * 60_000, durationMs / 6);
  const drainMs = opts.drainMs ?? 15 * 60_000;
  const types = opts.types ?? KNOWN_EVENT_TYPES;
  const order = opts.killOrder ?? catalogServices();
  const startedAt = new Date().toISOString();

  // the kill plan: a service every killEveryMs (never in the last half interval), nats once mid-run
  const plan: Array<{ at: number; target: string }> = [];
  for (let k = 1; k * killEveryMs <= durationMs - killEveryMs / 2; k++) {
    if (opts.maxKills !== undefined && plan.length >= opts.maxKills) break;
    plan.push({ at: k * killEveryMs, target: order[(k - 1) % order.length] as string });
  }
  if (opts.natsKill ?? true) {
    // between two service kills, near the middle
    const mid = Math.floor(durationMs / 2 / killEveryMs) * killEveryMs + killEveryMs / 2;
    plan.push({ at: Math.min(mid, durationMs - killEveryMs / 4), target: "nats-server" });
    plan.sort((a, b) => a.at - b.at);
  }
  log(
    `${opts.minutes} min at ${opts.rate} events/s; kills: ${plan.map((p) => `${p.target} at ${round(p.at / 60_000, 2)} min`).join(", ") || "none"}`,
  );

  const system = await RunningSystem.start({
    label: "soak",
    databaseServerUrl: opts.databaseServerUrl,
    flags: "npm-start",
    logLevel: "info",
    ...(opts.env ? { env: opts.env } : {}),
  });
  // Ctrl-C stops what the soak started (services, its nats-server, its database) before it exits
  let stopping: Promise<void> | null = null;
  const interrupted = () => {
    log("interrupted: stopping the system");
    // the kill loop and the sender fail as their processes go: consequences, not findings
    process.on("unhandledRejection", () => undefined);
    stopping ??= system.stop();
    void stopping.finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  const topology = makeTopology("");
  let nc: NatsConnection | null = null;
  const pgClient = new pg.Client({ connectionString: system.db.url });
  pgClient.on("error", () => undefined);
  const tag = `s${randomBytes(3).toString("hex")}`;
  const traffic = new Traffic({
    url: system.gatewayUrl,
    rate: opts.rate,
    durationMs,
    types,
    tag,
    retryForMs: 60_000,
    jobs: 200,
    onAccepted: (i) => rows.watch(traffic.idOf(i)),
  });
  const rows = new RowWatcher(system.db.url, traffic.count, (id) => traffic.indexOf(id));
  const firstNotice = new Float64Array(traffic.count).fill(Number.NaN);
  system.sink.onArrival((id, at) => {
    const i = traffic.indexOf(id);
    if (i >= 0 && Number.isNaN(firstNotice[i] as number)) firstNotice[i] = at;
  });

  const kills: Kill[] = [];
  const lagSamples: Array<{ at: number; lag: number }> = [];
  const memory: SoakReport["memory"] = [];
  let warmRss: Record<string, number | null> = {};
  let endRss: Record<string, number | null> = {};
  let t0 = 0;
  let sending = true;
  try {
    nc = await connect({ servers: system.nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const jsm = await jetstreamManager(nc);
    await pgClient.connect();
    await rows.start();
    t0 = Date.now();
    const minutesAt = (at: number) => (at - t0) / 60_000;

    const lagLoop = (async () => {
      while (sending) {
        const lag = await maxLag(jsm).catch(() => null);
        if (lag !== null) lagSamples.push({ at: Date.now(), lag });
        await sleep(2_000);
      }
    })();
    const memEveryMs = Math.max(2_000, Math.min(30_000, durationMs / 120));
    const memLoop = (async () => {
      while (sending) {
        const rss: Record<string, number | null> = {};
        const heap: Record<string, number | null> = {};
        for (const [name, pid] of Object.entries(system.pids())) {
          rss[name] = rssMiB(pid);
          if (name !== "nats-server") heap[name] = await system.heapMiB(name);
        }
        memory.push({ atMin: round(minutesAt(Date.now()), 3), rss, heap });
        await sleep(memEveryMs);
      }
    })();
    const killLoop = (async () => {
      for (const step of plan) {
        await sleep(t0 + step.at - Date.now());
        if (!sending) return;
        log(`${round(minutesAt(Date.now()), 2)} min: SIGKILL ${step.target}`);
        const r =
          step.target === "nats-server"
            ? await system.killAndRestartNats()
            : await system.killAndRestart(step.target);
        kills.push({
          target: step.target,
          atMin: round(minutesAt(r.killedAt), 2),
          killedAt: r.killedAt,
          downMs: r.readyAt - r.killedAt,
        });
        log(`${step.target} ready again after ${r.readyAt - r.killedAt} ms`);
      }
    })();
    const warmLoop = (async () => {
      await sleep(warmupMs);
      warmRss = Object.fromEntries(Object.entries(system.pids()).map(([n, pid]) => [n, rssMiB(pid)]));
      log(`warm RSS (MiB): ${JSON.stringify(warmRss)}`);
    })();
    const progress = setInterval(
      () => {
        const accepted = traffic.acceptedAt.reduce((a, x) => a + (Number.isNaN(x) ? 0 : 1), 0);
        log(
          `${round(minutesAt(Date.now()), 1)} min: ${accepted} accepted, ${rows.waiting} rows awaited, ${system.sink.arrivals.size} notified, lag ${lagSamples.at(-1)?.lag ?? "?"}`,
        );
      },
      Math.max(10_000, Math.min(60_000, durationMs / 12)),
    );

    await traffic.run();
    clearInterval(progress);
    endRss = Object.fromEntries(Object.entries(system.pids()).map(([n, pid]) => [n, rssMiB(pid)]));
    sending = false;
    await Promise.all([lagLoop, memLoop, killLoop, warmLoop]);
    log(`sent; draining (while work moves, at most ${drainMs / 1000} s)`);

    // the end: wait for the last work while it moves (a loaded machine drains slowly, a
    // stuck consumer does not drain at all), then check
    const accepted = indices(traffic.count, (i) => !Number.isNaN(traffic.acceptedAt[i] as number));
    const handled = accepted.filter((i) => handlerForType(traffic.typeOf(i)) !== null);
    const drainDeadline = Date.now() + drainMs;
    let pending = await pendingWork(jsm).catch(() => ["?"]);
    let lastState = "";
    let lastMove = Date.now();
    for (;;) {
      const notified = handled.filter((i) => system.sink.arrivals.has(traffic.idOf(i))).length;
      pending = await pendingWork(jsm).catch(() => pending);
      if (pending.length === 0 && notified === handled.length && rows.waiting === 0) break;
      const state = `${notified} ${rows.waiting} ${pending.join()}`;
      if (state !== lastState) {
        lastState = state;
        lastMove = Date.now();
      }
      if (Date.now() - lastMove > STILL_MS || Date.now() > drainDeadline) {
        log(
          `drain stopped: ${notified} of ${handled.length} notified, ${rows.waiting} rows awaited, ${pending.length} durables with work`,
        );
        break;
      }
      await sleep(1_000);
    }
    await rows.stop();

    // every accepted event audited exactly once
    const rowCounts = new Map<number, number>();
    const { rows: auditRows } = await pgClient.query<{ event_id: string; n: number; statuses: string[] }>(
      "SELECT event_id, count(*)::int AS n, array_agg(status) AS statuses FROM webhook_events GROUP BY event_id",
    );
    const statusCounts: Record<string, number> = {};
    for (const r of auditRows) {
      const i = traffic.indexOf(r.event_id);
      if (i >= 0) rowCounts.set(i, r.n);
      for (const s of r.statuses) statusCounts[s] = (statusCounts[s] ?? 0) + 1;
    }
    const unaudited = accepted.filter((i) => !rowCounts.has(i));
    const doubledRows = [...rowCounts.values()].filter((n) => n > 1).length;
    const streamInfo = await jsm.streams.info(topology.streams.webhooks);
    // the stream: one message per event; a second copy would be a dedup failure
    const doubledInStream = Math.max(0, streamInfo.state.messages - auditRows.length);
    const dlq = (await jsm.streams.info(topology.streams.dlq)).state.messages;

    // every handled event's notification, once (beyond the crash window)
    // an attempt lives at most one handler ack wait (its lease): the default, or the run's own
    const crashWindowLimitMs = Number(opts.env?.HANDLER_ACK_WAIT_MS ?? CRASH_WINDOW_LIMIT_MS);
    let repeated = 0;
    let crashWindow = 0;
    const repeatsOutside: string[] = [];
    for (const [id, times] of system.sink.arrivals) {
      if (times.length < 2) continue;
      repeated += times.length - 1;
      const first = times[0] as number;
      const second = times[1] as number;
      const kill = kills.find(
        (k) =>
          notifies(k.target) &&
          first <= k.killedAt &&
          second >= k.killedAt &&
          k.killedAt - first <= crashWindowLimitMs,
      );
      if (kill && times.length === 2) crashWindow = Math.max(crashWindow, kill.killedAt - first);
      else repeatsOutside.push(id);
    }
    const notReceived = handled.filter((i) => !system.sink.arrivals.has(traffic.idOf(i)));
    const strangers = [...system.sink.arrivals.keys()].filter((id) => traffic.indexOf(id) < 0).length;

    // the projection equals a fold of FINE_TUNING
    const projection = await projectionMatchesFold(nc, jsm, pgClient, topology.streams.fineTuning);
    const leftPending = await pendingWork(jsm);
    const withIds = await storedWithIds(jsm);

    const lost = unaudited.length + notReceived.length;
    const doubled = doubledRows + doubledInStream + repeatsOutside.length;
    const services = [...system.services.keys(), "nats-server"];
    const rssJson: SoakJson["rss_mib"] = {};
    for (const s of services) {
      // a service that was down when the warm-up ended (killed at that minute) takes its
      // first reading after the warm-up instead of none
      const warm =
        warmRss[s] ??
        memory.find((m) => m.atMin * 60_000 >= warmupMs && typeof m.rss[s] === "number")?.rss[s] ??
        null;
      const end = endRss[s] ?? null;
      rssJson[s] = {
        warm: warm ?? Number.NaN,
        end: end ?? Number.NaN,
        drift: warm && end ? round((end - warm) / warm, 3) : Number.NaN,
      };
    }

    const windows: SoakWindow[] = [];
    for (let from = 0; from < durationMs - 1; from += windowMs) {
      const to = Math.min(durationMs, from + windowMs);
      const inWindow = (at: number) => at >= t0 + from && at < t0 + to;
      const acceptedHere = accepted.filter((i) => inWindow(traffic.acceptedAt[i] as number));
      const rowLat = acceptedHere
        .map((i) => (rows.seenAt[i] as number) - (traffic.acceptedAt[i] as number))
        .filter((x) => !Number.isNaN(x))
        .map((x) => Math.max(0, x))
        .sort((a, b) => a - b);
      const noteLat = indices(traffic.count, (i) => inWindow(traffic.sentAt[i] as number))
        .filter((i) => handlerForType(traffic.typeOf(i)) !== null && !Number.isNaN(firstNotice[i] as number))
        .map((i) => (firstNotice[i] as number) - (traffic.sentAt[i] as number))
        .sort((a, b) => a - b);
      const killsHere = kills.filter((k) => inWindow(k.killedAt)).map((k) => k.target);
      windows.push({
        from_min: round(from / 60_000, 2),
        to_min: round(to / 60_000, 2),
        rate: round(acceptedHere.length / ((to - from) / 1000), 1),
        p50_ms: rowLat.length ? round(percentile(rowLat, 50), 1) : null,
        p99_ms: rowLat.length ? round(percentile(rowLat, 99), 1) : null,
        notify_p99_ms: noteLat.length ? round(percentile(noteLat, 99), 1) : null,
        max_lag: lagSamples.filter((s) => inWindow(s.at)).reduce((a, s) => Math.max(a, s.lag), 0),
        kill: killsHere.length ? killsHere.join(", ") : null,
      });
    }

    const json: SoakJson = {
      minutes: opts.minutes,
      rate: opts.rate,
      sent: traffic.scheduled,
      accepted: accepted.length,
      audited: accepted.length - unaudited.length,
      lost,
      doubled,
      crash_window: crashWindow,
      notifications: { expected: handled.length, received: handled.length - notReceived.length, repeated },
      rss_mib: rssJson,
      nats_messages_with_ids: withIds,
      windows,
    };
    const checks = [
      {
        name: "every event sent was accepted (a 200, retried as OpenAI retries)",
        ok: accepted.length === traffic.scheduled && traffic.refused === 0,
        detail: `${accepted.length} of ${traffic.scheduled} accepted; ${traffic.refused} refused; retried: ${JSON.stringify(Object.fromEntries(traffic.retried))}; at most ${traffic.maxQueued} waited for one of the sender's open requests`,
      },
      {
        name: "every accepted event audited exactly once",
        ok: unaudited.length === 0 && doubledRows === 0 && doubledInStream === 0,
        detail: `${unaudited.length} without a row, ${doubledRows} with two rows; WEBHOOKS holds ${streamInfo.state.messages} messages for ${auditRows.length} audited events`,
      },
      {
        name: "every handled event's notification received, once beyond the crash window",
        ok: notReceived.length === 0 && repeatsOutside.length === 0 && strangers === 0,
        detail: `${handled.length} expected, ${notReceived.length} missing, ${repeated} repeated (${repeatsOutside.length} outside the crash window${repeatsOutside.length ? `: ${repeatsOutside.slice(0, 5).join(", ")}` : ""}); crash window ${crashWindow} ms; ${strangers} notifications of events never sent`,
      },
      { name: "the projection equals a fold of the stream", ok: projection.ok, detail: projection.detail },
      {
        name: "no consumer with pending work",
        ok: leftPending.length === 0,
        detail: leftPending.length ? leftPending.join("; ") : "every durable at 0 pending, 0 ack pending",
      },
      {
        name: "nothing dead-lettered",
        ok: dlq === 0,
        detail: `${dlq} messages in WEBHOOK_DLQ; audit statuses ${JSON.stringify(statusCounts)}`,
      },
    ];
    for (const c of checks) log(`${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
    return {
      json,
      kills,
      checks,
      memory,
      startedAt,
      detail: {
        unaudited: unaudited.slice(0, 20).map((i) => traffic.idOf(i)),
        not_notified: notReceived.slice(0, 20).map((i) => traffic.idOf(i)),
        repeats_outside_crash_window: repeatsOutside.slice(0, 20),
        audit_statuses: statusCounts,
        dlq,
        service_errors: Object.fromEntries([...system.services].map(([n, s]) => [n, s.errors])),
        restarts: Object.fromEntries([...system.services].map(([n, s]) => [n, s.restarts])),
        handlers: HANDLER_NAMES.map((h) => HANDLERS[h].domain),
      },
    };
  } catch (err) {
    // what failed because the system was being stopped is not a finding
    if (stopping) await new Promise(() => undefined);
    for (const [name, s] of system.services) log(`${name} last lines:\n${s.tail.slice(-8).join("\n")}`);
    throw err;
  } finally {
    process.off("SIGINT", interrupted);
    sending = false;
    await rows.stop().catch(() => undefined);
    await pgClient.end().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    stopping ??= system.stop();
    await stopping;
  }
}

/**
 * A kill that can repeat a notification: of a service that sends them (a domain
 * handler, the delivery service) or of the nats-server they ack through. The gateway,
 * the audit or the projection dying cannot make anyone POST twice.
 */
function notifies(target: string): boolean {
  if (target === "nats-server" || target === "delivery") return true;
  return (SERVICES as Record<string, { handler?: string }>)[target]?.handler !== undefined;
}

function indices(count: number, keep: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (keep(i)) out.push(i);
  return out;
}

/** The projection's rows against a fold of FINE_TUNING in stream order. */
async function projectionMatchesFold(
  nc: NatsConnection,
  jsm: JetStreamManager,
  db: pg.Client,
  stream: string,
): Promise<{ ok: boolean; detail: string }> {
  const info = await jsm.streams.info(stream);
  const snapshots: SequencedSnapshot[] = [];
  await readStream(
    jetstream(nc),
    stream,
    { fromSeq: info.state.first_seq, toSeq: info.state.last_seq },
    (m) => {
      const s = parseSnapshot(m);
      if (s) snapshots.push(s);
    },
  );
  const fold = foldAll(snapshots);
  const { rows } = await db.query<{ openai_job_id: string; status: string; last_event_id: string }>(
    "SELECT openai_job_id, status, last_event_id FROM fine_tune_jobs",
  );
  const differ: string[] = [];
  for (const r of rows) {
    const f = fold.get(r.openai_job_id);
    if (!f || f.status !== r.status || f.lastEventId !== r.last_event_id)
      differ.push(
        `${r.openai_job_id}: row ${r.status}/${r.last_event_id}, fold ${f?.status}/${f?.lastEventId}`,
      );
  }
  const missing = [...fold.keys()].filter((id) => !rows.some((r) => r.openai_job_id === id));
  return {
    ok: differ.length === 0 && missing.length === 0 && rows.length > 0,
    detail: `${rows.length} jobs from ${snapshots.length} snapshots; ${differ.length} differ${differ.length ? ` (${differ.slice(0, 3).join("; ")})` : ""}, ${missing.length} missing from the table`,
  };
}
