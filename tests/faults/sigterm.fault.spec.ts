import { eventBody, NotificationReceiver, publishEvent, type ServiceProcess } from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, gatewayUrl, load, type System, sleep, system } from "./harness";

const receiver = await NotificationReceiver.start();
let sys: System;

afterAll(async () => {
  await sys?.stop();
  await receiver.close();
});

const BOUND_MS = 10_000;
// the production ack wait: a message left to it would come back only after 30 s
const ACK_WAIT_MS = 30_000;
const BURST = 1_500;

/** The stream sequences a stopped instance handed back (its "handed back" log line). */
function handedBack(p: ServiceProcess, durable: string): number[] {
  for (const line of p.output) {
    if (!line.includes("handed back")) continue;
    const entry = JSON.parse(line) as { durable?: string; seqs?: number[] };
    if (entry.durable === durable) return entry.seqs ?? [];
  }
  throw new Error(`${durable}: no "handed back" line in the stopped instance's log`);
}

describe("SIGTERM of one instance of each consuming service under load (issue 8, defect 3: shutdown leaves buffered messages waiting)", () => {
  it("each exits 0 within its bound, the other instance picks up what it had buffered long before the ack wait, and every event is stored and notified exactly once", async () => {
    sys = await system("fterm", {
      natsUrl: inject("natsUrl"),
      databaseUrl: inject("databaseUrl"),
      env: {
        NOTIFY_URLS: receiver.url("/notify"),
        SHUTDOWN_TIMEOUT_MS: String(BOUND_MS),
        AUDIT_ACK_WAIT_MS: String(ACK_WAIT_MS),
        HANDLER_ACK_WAIT_MS: String(ACK_WAIT_MS),
      },
    });
    const gateway = await sys.start("gateway");
    // the instances to stop log at info: their "handed back" line names the sequences
    const audit = await sys.start("audit", { LOG_LEVEL: "info" });
    await sys.start("audit");
    const handler = await sys.start("response-handler", { LOG_LEVEL: "info" });
    await sys.start("response-handler");
    // the notifications go out through the delivery service
    await sys.start("delivery");
    const nc = await connect({ servers: inject("natsUrl").split(","), noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const db = new pg.Client({ connectionString: sys.db.url });
    await db.connect();
    // the database is dropped WITH (FORCE) at the end: a lost connection is expected then
    db.on("error", () => undefined);

    const running = load({
      url: gatewayUrl(gateway),
      durationMs: 8_000,
      concurrency: 6,
      type: "response.completed",
    });
    await sleep(2_000);
    // a burst behind the steady load, so that the consumers have messages pulled and not started
    const burst: string[] = [];
    const publishing = (async () => {
      const acks = [];
      for (let i = 0; i < BURST; i++) {
        const body = eventBody("response.completed");
        burst.push(JSON.parse(body).id);
        acks.push(publishEvent(js, sys.topology, body));
        if (acks.length >= 256) await Promise.all(acks.splice(0));
      }
      await Promise.all(acks);
    })();
    let published = false;
    void publishing.finally(() => {
      published = true;
    });
    // stop while the audit has many messages handed out and not acked
    while (!published) {
      const info = await jsm.consumers.info(sys.topology.streams.webhooks, "audit");
      if (info.num_ack_pending >= 200) break;
      await sleep(5);
    }

    const termAt = Date.now();
    const [a, h] = await Promise.all([audit.terminate(), handler.terminate()]);
    expect(a.code, "audit exit code").toBe(0);
    expect(h.code, "handler exit code").toBe(0);
    expect(a.ms, "audit shutdown time").toBeLessThan(BOUND_MS);
    expect(h.ms, "handler shutdown time").toBeLessThan(BOUND_MS);
    const auditSeqs = handedBack(audit, "audit");
    const handlerSeqs = handedBack(handler, "response");

    // The other instances pick up what was handed back, well before the 30 s ack wait
    // would have let it go: the audit writes the rows, the handler POSTs the notifications.
    const auditPickupMs = await (async () => {
      for (;;) {
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM webhook_events WHERE stream_seq = ANY($1)",
          [auditSeqs],
        );
        if (rows[0]!.n === auditSeqs.length) return Date.now() - termAt;
        expect(Date.now() - termAt, "audit: handed-back messages still waiting").toBeLessThan(
          ACK_WAIT_MS / 2,
        );
        await sleep(20);
      }
    })();
    const handlerIds = await Promise.all(
      handlerSeqs.map(async (seq) => {
        const m = await jsm.streams.getMessage(sys.topology.streams.webhooks, { seq });
        return m!.header.get("Nats-Msg-Id");
      }),
    );
    const handlerPickupMs = await (async () => {
      for (;;) {
        const at = handlerIds.map(
          (id) => receiver.on("/notify").find((n) => n.headers["idempotency-key"] === id)?.at,
        );
        if (at.every((t) => t !== undefined)) return Math.max(termAt, ...(at as number[])) - termAt;
        expect(Date.now() - termAt, "handler: handed-back messages still waiting").toBeLessThan(
          ACK_WAIT_MS / 2,
        );
        await sleep(20);
      }
    })();
    console.info(
      `defect 3 pickup after SIGTERM: audit handed back ${auditSeqs.length}, all written ${auditPickupMs} ms after the SIGTERM (its exit took ${a.ms} ms); ` +
        `handler handed back ${handlerSeqs.length}, all notified ${handlerPickupMs} ms after the SIGTERM (its exit took ${h.ms} ms)`,
    );
    expect(auditSeqs.length + handlerSeqs.length, "something was buffered at the SIGTERM").toBeGreaterThan(0);

    await publishing;
    const answers = await running;
    const ok = answers.filter((x) => x.status === 200);
    expect(ok.length).toBe(answers.length);
    const ids = [...ok.map((x) => x.id), ...burst];
    await everyIdStoredOnce(sys, ids, 60_000);

    // every event notified exactly once: a SIGTERM finishes its work, it repeats none
    const deadline = Date.now() + 60_000;
    while (receiver.on("/notify").length < ids.length && Date.now() < deadline) await sleep(250);
    await sleep(500);
    const perKey = new Map<string, number>();
    for (const n of receiver.on("/notify")) {
      const key = n.headers["idempotency-key"] as string;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    expect(ids.filter((id) => perKey.get(id) !== 1)).toEqual([]);
    expect(perKey.size).toBe(ids.length);

    const { code } = await gateway.terminate();
    expect(code).toBe(0);
    await db.end();
    await nc.close();
  });
});
