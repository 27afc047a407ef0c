import { parseConfig } from "@hookstream/config";
import { eventBody, NatsServerProcess, signWebhook, TEST_SECRET, testTopology } from "@hookstream/testing";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayConfig } from "./config";
import { startGateway } from "./startGateway";

const server = await NatsServerProcess.start();
const topology = testTopology("gwout");
const config = parseConfig(GatewayConfig, {
  NATS_URL: server.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  OPENAI_WEBHOOK_SECRET: TEST_SECRET,
  PUBLISH_TIMEOUT_MS: "1000",
  RETRY_AFTER_SEC: "3",
});
const { app, nc } = await startGateway(config, pino({ level: "silent" }));

afterAll(async () => {
  await app.close();
  await nc.close();
  await server.destroy();
});

async function send() {
  const body = eventBody("batch.completed");
  const started = Date.now();
  const res = await app.inject({
    method: "POST",
    url: "/webhooks/openai",
    payload: body,
    headers: signWebhook(TEST_SECRET, body).headers,
  });
  return { res, ms: Date.now() - started };
}

describe("NATS outage", () => {
  it("answers 503 + Retry-After within its bound while NATS is down, and 200 again once it is back", async () => {
    expect((await send()).res.statusCode).toBe(200);

    await server.stop();
    // right after the kill the client may not have noticed yet: the publish timeout bounds the wait
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await send();
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("3");
      expect(res.json()).toMatchObject({ error: "unavailable" });
      expect(ms).toBeLessThan(config.PUBLISH_TIMEOUT_MS + 1_000);
    }
    const ready = await app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(503);

    await server.start();
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await send()).res.statusCode;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
  });
});
