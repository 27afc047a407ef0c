import { PostgresProcess } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, gatewayUrl, load, type System, sleep, system } from "./harness";

const postgres = await PostgresProcess.start();
let sys: System;

afterAll(async () => {
  try {
    await sys?.stop();
  } finally {
    await postgres.destroy();
  }
});

describe("Postgres stopped for several seconds under load", () => {
  it("loses nothing, stores each event once in the stream with its audit row, and the audit's lag drains", async () => {
    sys = await system("fpg", { natsUrl: inject("natsUrl"), databaseUrl: postgres.url });
    const gateway = await sys.start("gateway");
    await sys.start("audit");

    const running = load({ url: gatewayUrl(gateway), durationMs: 12_000, concurrency: 8 });
    await sleep(2_000);
    await postgres.stop("immediate");
    await sleep(8_000);
    await postgres.start();
    const answers = await running;

    // the gateway does not need Postgres: every request was accepted
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBe(answers.length);
    expect(ok.length).toBeGreaterThan(100);
    await everyIdStoredOnce(
      sys,
      ok.map((a) => a.id),
      90_000,
    );

    const nc = await connect({ servers: inject("natsUrl").split(",") });
    const info = await (await jetstreamManager(nc)).consumers.info(sys.topology.streams.webhooks, "audit");
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
    await nc.close();
  });
});
