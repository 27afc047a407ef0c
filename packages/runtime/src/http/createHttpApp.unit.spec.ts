import { createRegistry } from "@hookstream/observability";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { checkingIntervalOf, createHttpApp } from "./createHttpApp";

const shell = (
  opts: {
    requestTimeoutMs?: number;
    connectionTimeoutMs?: number;
    trustProxy?: false | number | string[];
  } = {},
) =>
  createHttpApp({
    logger: pino({ level: "silent" }),
    registry: createRegistry("shell-test", { defaultMetrics: false }),
    readiness: async () => null,
    ...opts,
  });

describe("createHttpApp", () => {
  it("sets a 30 s request timeout and a 120 s idle timeout by default (Fastify's are off)", async () => {
    const app = shell();
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.server.timeout).toBe(120_000);
    // Node looks for requests past their timeout every 7.5 s, not every 30 s
    expect(checkingIntervalOf(30_000)).toBe(7_500);
    await app.close();
  });

  it("takes the configured timeouts", async () => {
    const app = shell({ requestTimeoutMs: 1_000, connectionTimeoutMs: 5_000 });
    expect(app.server.requestTimeout).toBe(1_000);
    expect(app.server.timeout).toBe(5_000);
    await app.close();
  });

  it("trusts as many X-Forwarded-For hops as configured, and no more", async () => {
    const app = shell({ trustProxy: 1 });
    app.get("/ip", (req) => ({ ip: req.ip }));
    const res = await app.inject({
      url: "/ip",
      headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.7" },
      remoteAddress: "10.0.0.1",
    });
    expect(res.json()).toEqual({ ip: "203.0.113.7" });
    await app.close();
  });

  it("trusts only proxies in the configured ranges", async () => {
    const app = shell({ trustProxy: ["10.0.0.0/8"] });
    app.get("/ip", (req) => ({ ip: req.ip }));
    const via = (remoteAddress: string) =>
      app.inject({ url: "/ip", headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.7" }, remoteAddress });
    expect((await via("10.1.2.3")).json()).toEqual({ ip: "203.0.113.7" });
    expect((await via("192.0.2.1")).json()).toEqual({ ip: "192.0.2.1" });
    await app.close();
  });
});
