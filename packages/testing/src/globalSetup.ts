import net from "node:net";
import type { TestProject } from "vitest/node";

const DEFAULT_NATS = "nats://127.0.0.1:4222";
const DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/postgres";

function reachable(url: string, defaultPort: number, timeoutMs = 3_000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}

/**
 * Finds the services the tests run against, in this order (docs/architecture.md, "Platform notes"): NATS_URL /
 * DATABASE_URL when set; else containers when a container runtime answers; else the
 * local defaults. Fails with a clear message when one does not answer.
 */
export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<unknown>> = [];
  let natsUrl = process.env.NATS_URL;
  let databaseUrl = process.env.DATABASE_URL;

  if (!natsUrl || !databaseUrl) {
    try {
      const tc = await import("testcontainers");
      await withTimeout(tc.getContainerRuntimeClient(), 5_000);
      if (!natsUrl) {
        const nats = await new tc.GenericContainer("nats:2.11")
          .withCommand(["-js"])
          .withExposedPorts(4222)
          .start();
        stops.push(() => nats.stop());
        natsUrl = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
      }
      if (!databaseUrl) {
        const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
        const pg = await new PostgreSqlContainer("postgres:15").start();
        stops.push(() => pg.stop());
        databaseUrl = pg.getConnectionUri();
      }
    } catch {
      // no container runtime here: use the local services
    }
  }
  natsUrl ??= DEFAULT_NATS;
  databaseUrl ??= DEFAULT_DATABASE;

  const firstNats = natsUrl.split(",")[0] ?? natsUrl;
  if (!(await reachable(firstNats, 4222))) {
    throw new Error(
      `NATS does not answer at ${firstNats}. Start one with JetStream (nats-server -js) or set NATS_URL.`,
    );
  }
  if (!(await reachable(databaseUrl, 5432))) {
    throw new Error(
      `Postgres does not answer at ${new URL(databaseUrl).host}. Start it or set DATABASE_URL.`,
    );
  }
  project.provide("natsUrl", natsUrl);
  project.provide("databaseUrl", databaseUrl);
  return async () => {
    for (const stop of stops) await stop();
  };
}
