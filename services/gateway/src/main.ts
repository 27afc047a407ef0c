import { DEV_WEBHOOK_SECRET, parseConfig } from "@hookstream/config";
import { makeTopology } from "@hookstream/contracts";
import { connectNats, DEFAULT_STREAM_OPTIONS, ensureStreams } from "@hookstream/messaging";
import { createLogger, createRegistry } from "@hookstream/observability";
import { exitOnStartupError, installGracefulShutdown, natsReadiness } from "@hookstream/runtime";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { buildApp } from "./app";
import { GatewayConfig } from "./config";

const SERVICE = "gateway";
const bootLogger = createLogger({ name: SERVICE, level: process.env.LOG_LEVEL ?? "info" });

async function main(): Promise<void> {
  const config = parseConfig(GatewayConfig);
  const logger = createLogger({ name: SERVICE, level: config.LOG_LEVEL });
  if (config.OPENAI_WEBHOOK_SECRET === DEV_WEBHOOK_SECRET) {
    logger.warn(
      "OPENAI_WEBHOOK_SECRET is not set: using the development secret. Never run this in production.",
    );
  }
  const topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
  const nc = await connectNats({ servers: config.NATS_URL, name: SERVICE, logger });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, topology, {
    ...DEFAULT_STREAM_OPTIONS,
    replicas: config.STREAM_REPLICAS,
    duplicateWindowMs: config.WEBHOOK_DUPLICATE_WINDOW_MS,
    maxAgeMs: config.WEBHOOK_MAX_AGE_MS,
  });

  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") connected = false;
      else if (s.type === "reconnect") connected = true;
    }
  })();

  const app = buildApp({
    config,
    topology,
    js: jetstream(nc),
    logger,
    registry: createRegistry(SERVICE),
    maxPayload: nc.info?.max_payload,
    isConnected: () => connected && !nc.isClosed(),
    readiness: () =>
      connected ? natsReadiness(nc, jsm, [topology.streams.webhooks]) : Promise.resolve("NATS disconnected"),
  });
  await app.listen({ port: config.GATEWAY_PORT, host: config.GATEWAY_HOST });

  installGracefulShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      // stop taking requests first; requests in flight finish their publish
      { name: "http", close: () => app.close() },
      { name: "nats", close: () => nc.drain() },
    ],
  });
}

main().catch((err) => exitOnStartupError(bootLogger, err));
