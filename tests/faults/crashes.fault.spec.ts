import { FINE_TUNE_STATUSES, type ServiceName } from "@hookstream/contracts";
import { foldAll, parseSnapshot, readStream, type SequencedSnapshot } from "@hookstream/fine-tune";
import { FakeOpenAI, NotificationReceiver, type ServiceProcess } from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, gatewayUrl, load, type System, sleep, system } from "./harness";

const fake = await FakeOpenAI.start();
const receiver = await NotificationReceiver.start();
let sys: System;

afterAll(async () => {
  try {
    await sys?.stop();
  } finally {
    await fake.close();
    await receiver.close();
  }
});

const JOBS = 40;
const HANDLER_CONCURRENCY = 8;
const HANDLER_ACK_WAIT_MS = 3_000;
const ADMIN_TOKEN = "fault-suite-admin-token";

describe("each consuming service SIGKILLed mid-load and restarted", () => {
  it("loses nothing, stores each event once in the stream, repeats a notification only in the crash window, and the projection equals the in-order fold", async () => {
    for (let j = 0; j < JOBS; j++)
      fake.fineTuningJob(`ftjob-crash-${j}`, { status: "running", model: "gpt-4o-mini" });
    sys = await system("fcrash", {
      natsUrl: inject("natsUrl"),
      databaseUrl: inject("databaseUrl"),
      env: {
        OPENAI_API_KEY: "sk-test",
        OPENAI_BASE_URL: fake.baseURL,
        NOTIFY_URLS: receiver.url("/notify"),
        HANDLER_CONCURRENCY: String(HANDLER_CONCURRENCY),
        HANDLER_ACK_WAIT_MS: String(HANDLER_ACK_WAIT_MS),
        // the job API is behind the admin token unless FINE_TUNE_API_PUBLIC=true
        ADMIN_TOKEN,
      },
    });
    const gateway = await sys.start("gateway");
    let audit = await sys.start("audit");
    let handler = await sys.start("fine-tuning-handler");
    let projection = await sys.start("fine-tune");
    // the notifications go out through the delivery service
    await sys.start("delivery");

    const types = FINE_TUNE_STATUSES.filter(
      (s) => s !== "validating_files" && s !== "queued" && s !== "running",
    );
    const running = load({
      url: gatewayUrl(gateway),
      durationMs: 12_000,
      concurrency: 6,
      type: (i) => `fine_tuning.job.${types[i % types.length]}`,
      data: (i) => ({ id: `ftjob-crash-${i % JOBS}` }),
    });
    // when the last restarted process was spawned: any POST before it came from the killed one
    let respawnAt = 0;
    const restart = async (p: ServiceProcess, service: ServiceName) => {
      p.kill("SIGKILL");
      await p.exit;
      respawnAt = Date.now();
      return sys.start(service);
    };
    await sleep(2_500);
    audit = await restart(audit, "audit");
    await sleep(1_500);
    const handlerKilledAt = Date.now();
    handler = await restart(handler, "fine-tuning-handler");
    const handlerRespawnAt = respawnAt;
    await sleep(1_500);
    projection = await restart(projection, "fine-tune");
    const answers = await running;
    const ok = answers.filter((a) => a.status === 200);
    const okIds = new Set(ok.map((a) => a.id));
    expect(ok.length).toBe(answers.length);
    await everyIdStoredOnce(
      sys,
      ok.map((a) => a.id),
      90_000,
    );

    const db = new pg.Client({ connectionString: sys.db.url });
    await db.connect();
    // the database is dropped WITH (FORCE) at the end: a lost connection is expected then
    db.on("error", () => undefined);
    // every event handled: processed in the audit, exactly one notification each
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { rows } = await db.query(
        "SELECT count(*)::int AS n FROM webhook_events WHERE status = 'processed'",
      );
      if (rows[0].n === ok.length || Date.now() > deadline) break;
      await sleep(500);
    }
    const { rows: statuses } = await db.query(
      "SELECT status, count(*)::int AS n FROM webhook_events GROUP BY status",
    );
    expect(statuses).toEqual([{ status: "processed", n: ok.length }]);
    // Every event notified under its own Idempotency-Key (= event id), once — except in
    // the documented crash window (docs/guarantees.md): a handler killed after its POST and before
    // it recorded the step sends that POST again, same key, on redelivery. So a repeat
    // may only be of a POST made by the killed handler just before the kill (at most
    // one per event in flight then), sent again once, after the kill.
    const posts = new Map<string, number[]>();
    for (const n of receiver.on("/notify")) {
      const key = n.headers["idempotency-key"] as string;
      posts.set(key, [...(posts.get(key) ?? []), n.at]);
    }
    expect([...posts.keys()].filter((key) => !okIds.has(key))).toEqual([]);
    expect([...okIds].filter((id) => !posts.has(id))).toEqual([]);
    const repeats = [...posts].filter(([, at]) => at.length > 1);
    const windowMs = repeats.map(([, at]) => handlerKilledAt - at[0]!).sort((x, y) => x - y);
    console.info(
      `defect 9 crash window: ${repeats.length} of ${ok.length} notifications repeated after the handler's SIGKILL; ` +
        `first POST to kill: ${windowMs.length ? `${windowMs[0]}–${windowMs.at(-1)} ms (median ${windowMs[Math.floor(windowMs.length / 2)]} ms)` : "none"}`,
    );
    expect(repeats.length).toBeLessThanOrEqual(HANDLER_CONCURRENCY);
    for (const [key, at] of repeats) {
      expect(at.length, `${key}: POSTs`).toBe(2);
      expect(at[0]!, `${key}: first POST by the killed handler`).toBeLessThan(handlerRespawnAt);
      expect(at[1]!, `${key}: repeat after the kill`).toBeGreaterThan(handlerKilledAt);
      // in flight at the kill: a POST recorded as done would not be repeated, and an
      // attempt lives at most one ack wait (its lease) before another takes the event
      expect(handlerKilledAt - at[0]!, `${key}: first POST to kill`).toBeLessThan(HANDLER_ACK_WAIT_MS);
    }

    // the projection: every job terminal, and the row equals a fold of the stream in order
    const nc = await connect({ servers: inject("natsUrl").split(",") });
    const jsm = await jetstreamManager(nc);
    for (;;) {
      const c = await jsm.consumers.info(sys.topology.streams.fineTuning, "fine-tune");
      if ((c.num_pending === 0 && c.num_ack_pending === 0) || Date.now() > deadline) break;
      await sleep(250);
    }
    const res = await fetch(`http://127.0.0.1:${projection.opts.port}/fine-tune-jobs?limit=200`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const jobs = (
      (await res.json()) as { data: Array<{ id: string; status: string; last_event_id: string }> }
    ).data;
    const info = await jsm.streams.info(sys.topology.streams.fineTuning);
    const snapshots: SequencedSnapshot[] = [];
    await readStream(
      jetstream(nc),
      sys.topology.streams.fineTuning,
      { fromSeq: info.state.first_seq, toSeq: info.state.last_seq },
      (m) => {
        const s = parseSnapshot(m);
        if (s) snapshots.push(s);
      },
    );
    const fold = foldAll(snapshots);
    expect(jobs.length).toBe(fold.size);
    for (const job of jobs) {
      expect({ status: job.status, last_event_id: job.last_event_id }).toEqual({
        status: fold.get(job.id)?.status,
        last_event_id: fold.get(job.id)?.lastEventId,
      });
    }
    await nc.close();
    await db.end();
    expect(audit.pid).toBeDefined();
    expect(handler.pid).toBeDefined();
  });
});
