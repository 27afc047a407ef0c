import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** null when NATS is connected and every named stream exists, else the reason (for `/readyz`). */
export async function natsReadiness(
  nc: NatsConnection,
  jsm: JetStreamManager,
  streams: string[],
): Promise<string | null> {
  if (nc.isClosed()) return "NATS connection closed";
  if (nc.isDraining()) return "NATS connection draining";
  for (const name of streams) {
    try {
      await jsm.streams.info(name);
    } catch (err) {
      return `stream ${name} unavailable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return null;
}
