/**
 * A stalled request body does not hold a connection: through the running gateway, a
 * request whose headers promise 100,000 bytes and whose body stops after 5 is closed
 * by the server (issue 21, item 6; docs/configuration.md, "HTTP timeouts").
 *
 * The close is shown with a 1 s request timeout; the 30 s default, from the gateway's own
 * configuration as its process parses it. (`npm run attacks`, run by the quickstart test
 * against `npm start`'s defaults, still holds a stalled body until the server closes it.)
 */
import net from "node:net";
import { parseConfig } from "@hookstream/config";
import { gatewayService } from "@hookstream/gateway";
import { createRegistry } from "@hookstream/observability";
import { checkingIntervalOf, createHttpApp, serviceConfigSchema } from "@hookstream/runtime";
import { deleteNamespaceStreams, freePort, ServiceProcess, uniqueNamespace } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

const natsUrl = inject("natsUrl");
const namespaces: string[] = [];

afterAll(async () => {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for (const ns of namespaces) await deleteNamespaceStreams(jsm, ns);
  } finally {
    await nc.close();
  }
});

async function gateway(env: Record<string, string>): Promise<{ port: number; proc: ServiceProcess }> {
  const port = await freePort();
  const namespace = uniqueNamespace("tmo");
  namespaces.push(namespace);
  const proc = new ServiceProcess({
    service: "gateway",
    port,
    env: {
      NATS_URL: natsUrl,
      HOOKSTREAM_NAMESPACE: namespace,
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: String(port),
      HTTP_REQUEST_TIMEOUT_MS: "",
      HTTP_CONNECTION_TIMEOUT_MS: "",
      ...env,
    },
  });
  await proc.ready();
  return { port, proc };
}

/**
 * Sends the headers of a 100,000-byte webhook, then 5 bytes, then nothing; resolves
 * with the milliseconds until the server closed the socket, or null if it still held
 * it after `boundMs`.
 */
function stalledBody(port: number, boundMs: number): Promise<{ ms: number | null; answer: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const started = Date.now();
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ms: null, answer });
    }, boundMs);
    socket.on("data", (d) => {
      answer += d.toString("utf8");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, answer });
    });
    socket.on("connect", () => {
      socket.write(
        [
          "POST /webhooks/openai HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          "Content-Type: application/json",
          "Content-Length: 100000",
          "",
          "",
        ].join("\r\n"),
      );
      socket.write('{"id"');
    });
  });
}

describe("HTTP timeouts", () => {
  it("closes a stalled body within 60 s with the default settings (30 s request timeout)", async () => {
    // the gateway's environment as gateway() above starts it, the timeouts unset
    const config = parseConfig(serviceConfigSchema("gateway", gatewayService.env, gatewayService.checkEnv), {
      HTTP_REQUEST_TIMEOUT_MS: "",
      HTTP_CONNECTION_TIMEOUT_MS: "",
    });
    expect(config.HTTP_REQUEST_TIMEOUT_MS).toBe(30_000);
    // its HTTP server, made from that configuration as startService makes it
    const app = createHttpApp({
      logger: pino({ level: "silent" }),
      registry: createRegistry("http-timeouts-test", { defaultMetrics: false }),
      readiness: async () => null,
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: config.HTTP_CONNECTION_TIMEOUT_MS,
    });
    try {
      const server = app.server as typeof app.server & { connectionsCheckingInterval: number };
      expect(server.requestTimeout).toBe(30_000);
      expect(server.connectionsCheckingInterval).toBe(checkingIntervalOf(30_000));
      // Node closes a request past its timeout at its next look for such requests
      expect(server.requestTimeout + server.connectionsCheckingInterval).toBeLessThanOrEqual(60_000);
    } finally {
      await app.close();
    }
  });

  it("closes it after HTTP_REQUEST_TIMEOUT_MS when that is set shorter", async () => {
    const { port, proc } = await gateway({ HTTP_REQUEST_TIMEOUT_MS: "1000" });
    try {
      const r = await stalledBody(port, 60_000);
      expect(r.ms, "the socket was still open after 60 s").not.toBeNull();
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
      // the gateway keeps serving
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await proc.terminate();
    }
  });

  it("closes an idle connection after HTTP_CONNECTION_TIMEOUT_MS", async () => {
    const { port, proc } = await gateway({ HTTP_CONNECTION_TIMEOUT_MS: "1000" });
    try {
      const closed = await new Promise<number | null>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        const started = Date.now();
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(null);
        }, 60_000);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearTimeout(timer);
          resolve(Date.now() - started);
        });
      });
      expect(closed, "the idle socket was still open after 60 s").not.toBeNull();
      expect(closed).toBeGreaterThanOrEqual(900);
    } finally {
      await proc.terminate();
    }
  });
});
