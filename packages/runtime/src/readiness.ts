import type { MikroORM } from "@mikro-orm/postgresql";
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

/** null when Postgres answers `select 1` within the bound, else the reason (for `/readyz`). */
export async function postgresReadiness(orm: MikroORM, timeoutMs = 2_000): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      orm.em.getConnection().execute("select 1"),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return null;
  } catch (err) {
    return `Postgres unreachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}
