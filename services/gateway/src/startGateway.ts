import { makeTopology } from "@hookstream/contracts";
import { connectNats, DEFAULT_STREAM_OPTIONS, ensureStreams } from "@hookstream/messaging";
import { createRegistry, type Logger } from "@hookstream/observability";
import { natsReadiness } from "@hookstream/runtime";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app";
import type { GatewayConfig } from "./config";

export interface Gateway {
  app: FastifyInstance;
  nc: NatsConnection;
}

/**
 * Connects, provisions the streams (idempotent, safe when several instances start
 * at once) and builds the app, wired to the connection's state so that requests get
 * a 503 at once while NATS is away and succeed again as soon as it is back.
 */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
  const nc = await connectNats({ servers: config.NATS_URL, name: "gateway", logger });
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
    registry: createRegistry("gateway"),
    maxPayload: nc.info?.max_payload,
    isConnected: () => connected && !nc.isClosed(),
    readiness: () =>
      connected ? natsReadiness(nc, jsm, [topology.streams.webhooks]) : Promise.resolve("NATS disconnected"),
  });
  return { app, nc };
}
