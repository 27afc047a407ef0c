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

describe("SIGTERM during load", () => {
  it("each consuming service exits 0 within its bound and leaves no message waiting on an ack", async () => {
    sys = await system("fterm", {
      natsUrl: inject("natsUrl"),
      databaseUrl: inject("databaseUrl"),
      env: {
        NOTIFY_URLS: receiver.url("/notify"),
        SHUTDOWN_TIMEOUT_MS: String(BOUND_MS),
        AUDIT_ACK_WAIT_MS: "30000",
        HANDLER_ACK_WAIT_MS: "30000",
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
      // nothing it had pulled is left to the 30 s ack wait: in-flight work was finished, the rest handed back
      const info = await jsm.consumers.info(sys.topology.streams.webhooks, durable);
      expect(info.num_ack_pending, `${durable} unacked after exit`).toBe(0);
    }
    const answers = await running;
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBe(answers.length);

    // started again, they finish the rest: nothing was lost by the shutdowns
    await sys.start("audit");
    await sys.start("response-handler");
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
