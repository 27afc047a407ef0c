import { NatsServerProcess } from "@hookstream/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, gatewayUrl, load, type System, sendAgain, sleep, system } from "./harness";

const nats = await NatsServerProcess.start();
let sys: System;

afterAll(async () => {
  try {
    await sys?.stop();
  } finally {
    await nats.destroy();
  }
});

describe("NATS restarted in the middle of a steady load", () => {
  it("stores every 200 exactly once, answers 503 + Retry-After meanwhile, recovers by itself, and stores each refused event once when it is sent again", async () => {
    sys = await system("fnats", { natsUrl: nats.url, databaseUrl: inject("databaseUrl") });
    const gateway = await sys.start("gateway");
    await sys.start("audit");

    const running = load({ url: gatewayUrl(gateway), durationMs: 9_000, concurrency: 8 });
    await sleep(2_500);
    // refusals may start as soon as the kill is sent, before the process is reaped
    const downAt = Date.now();
    await nats.stop("SIGKILL");
    await sleep(2_500);
    await nats.start();
    const upAt = Date.now();
    const answers = await running;

    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(ok.length).toBeGreaterThan(100);
    // the gateway itself never went away: every answer is HTTP, and every refusal a 503 with Retry-After
    expect(answers.filter((a) => a.error !== null).map((a) => a.error)).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.status === 503 && a.retryAfter !== null)).toBe(true);
    expect(refused.every((a) => a.at >= downAt)).toBe(true);
    // recovered without a restart: 200s again after NATS came back
    expect(ok.some((a) => a.at > upAt)).toBe(true);
    // OpenAI sends each refused event again later: each is then stored once
    const again = await sendAgain(gatewayUrl(gateway), refused);
    expect(again.filter((a) => a.status !== 200)).toEqual([]);
    await everyIdStoredOnce(
      sys,
      [...ok, ...refused].map((a) => a.id),
    );
  });
});
