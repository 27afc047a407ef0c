import type { Topology } from "@hookstream/contracts";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createTestDatabase, deleteStreams, type TestDatabase, testTopology } from "./testEnv";

/** Where the shared servers are: vitest's `inject("natsUrl")` and `inject("databaseUrl")`. */
export interface SharedServers {
  natsUrl: string;
  databaseUrl: string;
}

/** Something started in a test that stops as a whole: a RunningService, or a started service holding one. */
export interface Stoppable {
  stop(): Promise<unknown>;
}
export type Started = Stoppable | { service: Stoppable };

/**
 * One test file's share of the shared NATS and Postgres: its own namespace (streams,
 * subjects, KV buckets), its own database, a connection with its JetStream clients,
 * the environment every service of the file starts with, and one teardown that stops
 * what the file started (last started, first stopped) before it deletes the file's
 * streams and buckets and drops its database — those, and only those.
 */
export interface TestInfra {
  topology: Topology;
  db: TestDatabase;
  natsUrl: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /**
   * NATS_URL, DATABASE_URL, HOOKSTREAM_NAMESPACE, silent logs and a small database pool
   * (two files run at once against one Postgres), plus what `testInfra` was given
   */
  env: Record<string, string>;
  /** stops `started` at close(), before anything started earlier; returns it */
  track<S extends Started>(started: S): S;
  /** runs `fn` at close(), before anything registered earlier (errors are ignored) */
  defer(fn: () => unknown): void;
  /** the teardown: deferred work in reverse order, then the streams, the connection and the database */
  close(): Promise<void>;
}

export async function testInfra(
  label: string,
  servers: SharedServers,
  env: Record<string, string> = {},
): Promise<TestInfra> {
  const topology = testTopology(label);
  const db = await createTestDatabase(servers.databaseUrl, label);
  const nc = await connect({ servers: servers.natsUrl.split(",") });
  const jsm = await jetstreamManager(nc);
  const deferred: Array<() => unknown> = [];
  const infra: TestInfra = {
    topology,
    db,
    natsUrl: servers.natsUrl,
    nc,
    js: jetstream(nc),
    jsm,
    env: {
      NATS_URL: servers.natsUrl,
      DATABASE_URL: db.url,
      HOOKSTREAM_NAMESPACE: topology.namespace,
      LOG_LEVEL: "silent",
      DB_POOL_MAX: "4",
      ...env,
    },
    track(started) {
      deferred.push(() => ("service" in started ? started.service.stop() : started.stop()));
      return started;
    },
    defer(fn) {
      deferred.push(fn);
    },
    async close() {
      for (const fn of deferred.splice(0).reverse()) {
        try {
          await fn();
        } catch {
          // a teardown step that fails must not keep the rest (streams, database) behind
        }
      }
      await deleteStreams(jsm, topology);
      await nc.close();
      await db.drop();
    },
  };
  return infra;
}
