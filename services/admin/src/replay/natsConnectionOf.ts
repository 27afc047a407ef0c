import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * The connection under a JetStream client (nats.js keeps it as `nc`), for the plain
 * subscriptions the admin routes need beside JetStream. A dependency of its own once
 * the admin routes receive the connection itself.
 */
export function natsConnectionOf(js: JetStreamClient): NatsConnection {
  const nc = (js as unknown as { nc?: NatsConnection }).nc;
  if (!nc || typeof nc.subscribe !== "function")
    throw new Error("the JetStream client has no NATS connection");
  return nc;
}
