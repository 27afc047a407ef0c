import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";

export interface ConnectOptions {
  servers: string[];
  name: string;
  logger: Logger;
  /** give up the first connection after this long; later outages are retried forever */
  connectTimeoutMs?: number;
}

/**
 * Connects and keeps reconnecting forever: an outage of NATS delays work, it never
 * ends a process. `noAsyncTraces` skips capturing a stack per request (measured
 * ~2× publish throughput here, STACK.md).
 */
export async function connectNats({
  servers,
  name,
  logger,
  connectTimeoutMs = 10_000,
}: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    pingInterval: 5_000,
    maxPingOut: 2,
    timeout: connectTimeoutMs,
    waitOnFirstConnect: false,
    noAsyncTraces: true,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") {
        logger.warn({ nats: s.type, server: "server" in s ? s.server : undefined }, `nats ${s.type}`);
      }
    }
  })().catch(() => {});
  logger.info({ server: nc.getServer() }, "connected to NATS");
  return nc;
}
