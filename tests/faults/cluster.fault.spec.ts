import { NatsCluster } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, gatewayUrl, load, type System, sendAgain, sleep, system } from "./harness";

const cluster = await NatsCluster.start(3);
let sys: System;

afterAll(async () => {
  try {
    await sys?.stop();
  } finally {
    await cluster.destroy();
  }
});

describe("a 3-node JetStream cluster with replicas 3", () => {
  it("keeps every 200, and every 503 sent again, exactly once in the stream and in the audit when the leader is killed under load", async () => {
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
    // OpenAI sends a 503'd event again: a 503 may hide a publish the old leader did
    // store, and the new leader must still dedup the repeat (checked in the stream)
    const refused = answers.filter((a) => a.status === 503);
    const again = await sendAgain(gatewayUrl(gateway), refused);
    expect(again.filter((a) => a.status !== 200)).toEqual([]);
    await everyIdStoredOnce(
      sys,
      [...ok, ...refused].map((a) => a.id),
      90_000,
    );
    await nc.close();
  });
});
