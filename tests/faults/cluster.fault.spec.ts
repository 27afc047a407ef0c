import { NatsCluster } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdAuditedOnce, gatewayUrl, load, type System, sleep, system } from "./harness";

const cluster = await NatsCluster.start(3);
let sys: System;

afterAll(async () => {
  await sys?.stop().catch(() => undefined);
  await cluster.destroy();
});

describe("a 3-node JetStream cluster with replicas 3", () => {
  it("keeps every 200 in the stream and in the audit when one node is killed under load", async () => {
    sys = await system("fclu", {
      natsUrl: cluster.url,
      databaseUrl: inject("databaseUrl"),
      env: { STREAM_REPLICAS: "3" },
    });
    const gateway = await sys.start("gateway");
    await sys.start("audit");

    const nc = await connect({ servers: cluster.servers });
    const jsm = await jetstreamManager(nc);
    const before = await jsm.streams.info(sys.topology.streams.webhooks);
    expect(before.config.num_replicas).toBe(3);

    const running = load({ url: gatewayUrl(gateway), durationMs: 10_000, concurrency: 8 });
    await sleep(3_000);
    // kill the stream's leader: the harshest single-node failure
    const leader = before.cluster?.leader;
    const victim = cluster.nodes.find((_node, i) => leader?.endsWith(`-n${i}`)) ?? cluster.nodes[0]!;
    await victim.stop("SIGKILL");
    const answers = await running;

    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThan(100);
    expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    await everyIdAuditedOnce(
      sys.db.url,
      ok.map((a) => a.id),
      90_000,
    );
    const after = await jsm.streams.info(sys.topology.streams.webhooks);
    expect(after.state.messages).toBeGreaterThanOrEqual(ok.length);
    await nc.close();
  });
});
