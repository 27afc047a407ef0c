import { NotificationReceiver } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdAuditedOnce, gatewayUrl, load, type System, sleep, system } from "./harness";

const receiver = await NotificationReceiver.start();
let sys: System;

afterAll(async () => {
  await sys?.stop().catch(() => undefined);
  await receiver.close();
});

const BOUND_MS = 10_000;
const ACK_WAIT_MS = 3_000;

describe("SIGTERM during load", () => {
  it("each consuming service exits 0 within its bound and leaves no message waiting on an ack", async () => {
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
    const audit = await sys.start("audit");
    const handler = await sys.start("response-handler");
    const nc = await connect({ servers: inject("natsUrl").split(",") });
    const jsm = await jetstreamManager(nc);

    const running = load({
      url: gatewayUrl(gateway),
      durationMs: 8_000,
      concurrency: 6,
      type: "response.completed",
    });
    await sleep(3_000);
    for (const [p, durable] of [
      [audit, "audit"],
      [handler, "response"],
    ] as const) {
      const { code, ms } = await p.terminate();
      expect(code, `${durable} exit code`).toBe(0);
      expect(ms, `${durable} shutdown time`).toBeLessThan(BOUND_MS);
    }
    const answers = await running;
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBe(answers.length);

    // started again, they finish the rest: nothing was lost by the shutdowns, and no
    // message stays unacked past the ack wait (in-flight work finished before exit; what
    // was pulled and not started comes back when the ack wait ends)
    await sys.start("audit");
    await sys.start("response-handler");
    const restartedAt = Date.now();
    for (const durable of ["audit", "response"]) {
      for (;;) {
        const info = await jsm.consumers.info(sys.topology.streams.webhooks, durable);
        if (info.num_ack_pending === 0 && info.num_pending === 0) break;
        expect(Date.now() - restartedAt, `${durable}: messages unacked past the ack wait`).toBeLessThan(
          ACK_WAIT_MS * 4,
        );
        await sleep(100);
      }
    }
    await everyIdAuditedOnce(
      sys.db.url,
      ok.map((a) => a.id),
      60_000,
    );
    const deadline = Date.now() + 60_000;
    while (
      new Set(receiver.on("/notify").map((n) => n.headers["idempotency-key"])).size < ok.length &&
      Date.now() < deadline
    )
      await sleep(250);
    expect(new Set(receiver.on("/notify").map((n) => n.headers["idempotency-key"])).size).toBe(ok.length);

    const { code } = await gateway.terminate();
    expect(code).toBe(0);
    await nc.close();
  });
});
