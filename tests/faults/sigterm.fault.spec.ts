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
    // the last stream sequence each consumer had handed out when its process exited
    const deliveredAtExit = new Map<string, number>();
    for (const [p, durable] of [
      [audit, "audit"],
      [handler, "response"],
    ] as const) {
      const { code, ms } = await p.terminate();
      expect(code, `${durable} exit code`).toBe(0);
      expect(ms, `${durable} shutdown time`).toBeLessThan(BOUND_MS);
      deliveredAtExit.set(
        durable,
        (await jsm.consumers.info(sys.topology.streams.webhooks, durable)).delivered.stream_seq,
      );
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
    // everything the stopped process had been handed is acked soon after the ack wait:
    // the ack floor passes its last delivery (the backlog behind it drains at its own pace)
    for (const [durable, seq] of deliveredAtExit) {
      for (;;) {
        const info = await jsm.consumers.info(sys.topology.streams.webhooks, durable);
        if (info.ack_floor.stream_seq >= seq) break;
        expect(Date.now() - restartedAt, `${durable}: messages unacked past the ack wait`).toBeLessThan(
          ACK_WAIT_MS * 5,
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
