/**
 * The console's destinations routes on the admin service, forwarded to the delivery
 * service (DELIVERY_URL): the admin token is checked here first, the name and the body
 * are validated before anything goes out, and the delivery service's answer comes back
 * as it is. A plain HTTP server stands in for the delivery service.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, createRegistry } from "@hookstream/observability";
import { adminAuth, createHttpApp } from "@hookstream/runtime";
import { freePort } from "@hookstream/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { adminErrorHandler } from "../admin/adminErrors";
import { registerDestinationsProxy } from "./destinationsProxy";

const TOKEN = "destinations-proxy-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const logger = createLogger({ name: "destinations-proxy-test", level: "silent" });

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** what the stand-in delivery service was asked, and what it answers next */
const seen: Seen[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };
let delivery: http.Server;
let app: FastifyInstance;

function buildApp(deliveryUrl: string): FastifyInstance {
  const a = createHttpApp({
    logger,
    registry: createRegistry("destinations-proxy-test", { defaultMetrics: false }),
    readiness: async () => null,
  });
  // as consoleRoutes registers it: the admin check on each route, the console scope's error handler
  a.register(async (scope) => {
    scope.setErrorHandler(adminErrorHandler("console request failed"));
    registerDestinationsProxy(
      scope,
      deliveryUrl,
      adminAuth({ tokens: [{ label: "admin", token: TOKEN }], failureBurst: 100, failuresPerSec: 10 }),
    );
  });
  return a;
}

beforeAll(async () => {
  delivery = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        body,
      });
      res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => delivery.listen(0, "127.0.0.1", resolve));
  app = buildApp(`http://127.0.0.1:${(delivery.address() as AddressInfo).port}/`);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => delivery?.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  answer = { status: 200, body: {} };
});

describe("the console's destinations routes", () => {
  it("forward the list with the operator's token and return the delivery service's answer as it is", async () => {
    answer = { status: 200, body: { destinations: [{ name: "ml-ops", state: "paused" }] } };
    const res = await app.inject({ method: "GET", url: "/api/destinations", headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(answer.body);
    expect(seen).toEqual([
      { method: "GET", url: "/admin/destinations", authorization: `Bearer ${TOKEN}`, body: "" },
    ]);
  });

  it("forward pause with its reason, resume and test to the destination's routes", async () => {
    for (const [action, body] of [
      ["pause", { reason: "receiver maintenance" }],
      ["resume", {}],
      ["test", {}],
    ] as const) {
      const res = await app.inject({
        method: "POST",
        url: `/api/destinations/ml-ops/${action}`,
        headers: auth,
        payload: body,
      });
      expect(res.statusCode, action).toBe(200);
    }
    expect(seen.map((s) => [s.method, s.url, JSON.parse(s.body)])).toEqual([
      ["POST", "/admin/destinations/ml-ops/pause", { reason: "receiver maintenance" }],
      ["POST", "/admin/destinations/ml-ops/resume", {}],
      ["POST", "/admin/destinations/ml-ops/test", {}],
    ]);
    expect(seen.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("refuse a request without the admin token before anything goes out", async () => {
    const res = await app.inject({ method: "POST", url: "/api/destinations/ml-ops/pause", payload: {} });
    expect(res.statusCode).toBe(401);
    const wrong = await app.inject({
      method: "GET",
      url: "/api/destinations",
      headers: { authorization: "Bearer not-the-token-at-all" },
    });
    expect(wrong.statusCode).toBe(403);
    expect(seen).toEqual([]);
  });

  it("answer 400 naming the parameter for a bad name or reason, sending nothing", async () => {
    const badName = await app.inject({
      method: "POST",
      url: "/api/destinations/Not%20A%20Name/resume",
      headers: auth,
      payload: {},
    });
    expect(badName.statusCode).toBe(400);
    expect(badName.json().error).toBe("invalid_name");
    const badReason = await app.inject({
      method: "POST",
      url: "/api/destinations/ml-ops/pause",
      headers: auth,
      payload: { reason: 42 },
    });
    expect(badReason.statusCode).toBe(400);
    expect(badReason.json().error).toBe("invalid_reason");
    expect(seen).toEqual([]);
  });

  it("pass the delivery service's refusal through (an unknown destination is its 404)", async () => {
    answer = { status: 404, body: { error: "unknown_destination", message: 'no destination "nope"' } };
    const res = await app.inject({ method: "POST", url: "/api/destinations/nope/test", headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual(answer.body);
  });

  it("say which variable to set when the delivery service does not answer", async () => {
    const down = buildApp(`http://127.0.0.1:${await freePort()}`);
    try {
      const res = await down.inject({ method: "GET", url: "/api/destinations", headers: auth });
      expect(res.statusCode).toBe(502);
      expect(res.json().error).toBe("delivery_unreachable");
      expect(res.json().message).toContain("DELIVERY_URL");
    } finally {
      await down.close();
    }
  });
});
