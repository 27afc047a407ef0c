import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, gatewayUrl, load, type System, sendAgain, sleep, system } from "./harness";

let sys: System;

afterAll(async () => {
  await sys?.stop();
});

const BOUND_MS = 10_000;

describe("SIGTERM of the gateway under load (issue 8, defect 9)", () => {
  it("answers every request it took 200 or 503, cuts none, exits 0, and each 503'd event sent again is stored once", async () => {
    sys = await system("fgwterm", {
      natsUrl: inject("natsUrl"),
      databaseUrl: inject("databaseUrl"),
      env: { SHUTDOWN_TIMEOUT_MS: String(BOUND_MS) },
    });
    const gateway = await sys.start("gateway");
    await sys.start("audit");

    const running = load({ url: gatewayUrl(gateway), durationMs: 5_000, concurrency: 8 });
    await sleep(2_000);
    const { code, ms } = await gateway.terminate();
    expect(code, "gateway exit code").toBe(0);
    expect(ms, "gateway shutdown time").toBeLessThan(BOUND_MS);
    const answers = await running;

    const byOutcome = new Map<string, number>();
    for (const a of answers) {
      const k = a.error ?? String(a.status);
      byOutcome.set(k, (byOutcome.get(k) ?? 0) + 1);
    }
    console.info(`gateway SIGTERM under load: ${JSON.stringify(Object.fromEntries(byOutcome))}`);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(20);
    // Every request the gateway took got a whole HTTP answer, 200 or 503. A refused
    // connection (the listener closed) carried no request: the sender tries again, as
    // after a 503. Anything else (reset, socket closed mid-request) is a cut request.
    const cut = answers.filter(
      (a) => !(a.status === 200 || a.status === 503 || (a.status === 0 && a.error === "ECONNREFUSED")),
    );
    expect(cut.map((a) => `${a.status} ${a.error}`)).toEqual([]);

    // OpenAI sends again every event that did not get a 200: each is then stored once
    const next = await sys.start("gateway");
    const retried = answers.filter((a) => a.status !== 200);
    const again = await sendAgain(gatewayUrl(next), retried);
    expect(again.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.error}`)).toEqual([]);
    await everyIdStoredOnce(
      sys,
      answers.map((a) => a.id),
      60_000,
    );
  });
});
