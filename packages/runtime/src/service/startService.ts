import {
  CONSUMERS,
  type DurableName,
  type DurableSpec,
  durableBinding,
  makeTopology,
  type RetryPolicy,
  SERVICES,
  type ServiceName,
  type Topology,
} from "@hookstream/contracts";
import type { MigrationEntry } from "@hookstream/db";
import {
  connectNats,
  describeStreamProblem,
  ensureConsumer,
  ensureStreams,
  natsSecurityFromEnv,
  streamOptionsFromEnv,
  streamProblems,
} from "@hookstream/messaging";
import {
  createRegistry,
  initTracing,
  type Logger,
  type Registry,
  registerConsumerGauges,
} from "@hookstream/observability";
import type { EntitySchema, MikroORM } from "@mikro-orm/postgresql";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyBaseLogger, FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import type { z } from "zod";
import { adminAuth, adminTokens } from "../http/adminAuth";
import { createHttpApp, type HttpAppOptions } from "../http/createHttpApp";
import { natsReadiness, postgresReadiness } from "../readiness";
import type { ShutdownStep } from "../shutdown";
import type { BaseConfig, EnvCheck, ServiceConfig } from "./serviceConfig";

/** A durable of the service, bound to its namespace, with the policy it runs under. */
export interface DurableBinding {
  durable: DurableName;
  stream: string;
  filterSubject: string;
  spec: DurableSpec;
  policy: RetryPolicy;
  maxAckPending: number;
}

/** What a running consumer gives back: how to stop it (finish or hand back its work). */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Everything a service's domain code is given; built once by startService. */
export interface ServiceContext<C> {
  name: ServiceName;
  config: C;
  logger: Logger;
  topology: Topology;
  registry: Registry;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** the service's durables from the catalog, by name */
  durables: Map<DurableName, DurableBinding>;
  /**
   * How it treats the streams and KV buckets it needs (STREAM_PROVISIONING):
   * `verify` (production) waits for the provisioning step to have made them
   */
  streamProvisioning: "verify" | "create" | "update";
  /** the ORM of a service with a database; throws for one without */
  orm(): MikroORM;
  /** false while NATS is known to be away (answer 503 at once instead of waiting) */
  isConnected(): boolean;
  /** preHandler for admin routes (bearer token, constant time, failed attempts rate limited) */
  requireAdmin: preHandlerAsyncHookHandler;
  now(): Date;
}

/** What the domain code of a service adds to the shell. */
export interface ServiceParts {
  /** started consumers; stopped after HTTP closes and before NATS drains */
  consumers?: Stoppable[];
  /** routes and plugins on the service's HTTP app */
  routes?: (app: FastifyInstance) => void | Promise<void>;
  /** more to stop after the consumers (timers, schedules) */
  stop?: () => Promise<void>;
  /** options of the HTTP shell (the gateway's body limit, proxy trust, rejection counting) */
  http?: Partial<Pick<HttpAppOptions, "bodyLimit" | "trustProxy" | "onErrorAnswer">>;
}

export interface ServiceDefinition<S extends z.ZodRawShape, C extends BaseConfig = ServiceConfig<S>> {
  name: ServiceName;
  /** the service's own variables; the common, database, admin, port and host ones are added */
  env: S;
  /** checks across variables (the gateway: no secret in production), run after each variable's own */
  checkEnv?: EnvCheck;
  db?: { entities: EntitySchema[]; migrations: MigrationEntry[] };
  /** the retry policy a durable runs under, after the service's own variables (default: the catalog's) */
  retryOf?: (config: C, durable: DurableName, catalog: RetryPolicy) => RetryPolicy;
  maxAckPendingOf?: (config: C, durable: DurableName, catalog: number) => number;
  /**
   * false: the service passes its trace context by hand and needs no async context
   * tracking (initTracing's `asyncContext`), which costs a hook on every promise
   */
  asyncTraceContext?: boolean;
  /** wires the domain once everything is connected and provisioned */
  start(ctx: ServiceContext<C>): Promise<ServiceParts> | ServiceParts;
}

export interface RunningService<C> {
  app: FastifyInstance;
  ctx: ServiceContext<C>;
  /** the shutdown order: HTTP, consumers, the service's own, NATS drain, ORM, tracing */
  steps: ShutdownStep[];
  /** runs the steps in order (tests; main installs them on SIGTERM) */
  stop(): Promise<void>;
}

export interface StartOptions {
  now?: () => Date;
}

/**
 * Starts one service, in this order, the same for every service:
 *   1. topology (namespace), metrics registry, tracing;
 *   2. Postgres: database created if missing and migrations run (MIGRATIONS=auto),
 *      or only connected (skip: a migration Job ran them);
 *   3. NATS: connected; streams checked against the one set of stream settings
 *      (STREAM_PROVISIONING=verify, production: the provisioning step made them; a
 *      missing stream is waited for, a difference reported at /readyz), or, on a
 *      developer machine, created and changed only by their owner (catalog `ownsStreams`);
 *      the service's durables from the catalog created or updated;
 *   4. consumer gauges for those durables;
 *   5. the domain: consumers started;
 *   6. the HTTP shell (health, readiness of the catalog's streams and Postgres, metrics)
 *      and the domain's routes.
 * Returns without listening; runServiceMain listens after installing the shutdown.
 */
export async function startService<S extends z.ZodRawShape, C extends BaseConfig>(
  def: ServiceDefinition<S, C>,
  config: C,
  logger: Logger,
  opts: StartOptions = {},
): Promise<RunningService<C>> {
  const now = opts.now ?? (() => new Date());
  const spec = SERVICES[def.name];
  const topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
  const registry = createRegistry(def.name);
  const tracing = initTracing({ serviceName: def.name, asyncContext: def.asyncTraceContext !== false });
  const steps: ShutdownStep[] = [];
  const closeEarly = async () => {
    for (const s of steps.reverse()) await Promise.resolve(s.close()).catch(() => undefined);
  };

  try {
    let orm: MikroORM | null = null;
    if (def.db) {
      // loaded only by services with a database: the ORM is the largest part of the heap
      const { initOrm } = await import("@hookstream/db");
      orm = (await initOrm({
        url: config.DATABASE_URL,
        owner: def.name,
        entities: def.db.entities,
        migrations: def.db.migrations,
        logger,
        poolMax: config.DB_POOL_MAX,
        migrate: config.MIGRATIONS !== "skip",
      })) as MikroORM;
      const o = orm;
      steps.push({ name: "orm", close: () => o.close() });
    }

    const nc = await connectNats({
      servers: config.NATS_URL,
      name: def.name,
      logger,
      ...natsSecurityFromEnv(config),
    });
    steps.push({ name: "nats", close: () => nc.drain() });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const streamOptions = streamOptionsFromEnv(config);
    const mode = streamProvisioningMode(config.STREAM_PROVISIONING, spec.ownsStreams);
    // the streams it reads: /readyz's, and those of its durables
    const needed = [
      ...new Set([
        ...spec.streams.map((s) => topology.streams[s]),
        ...(spec.durables as readonly DurableName[]).map((d) => durableBinding(topology, d).stream),
      ]),
    ];
    if (mode === "verify") {
      await awaitProvisionedStreams(jsm, topology, streamOptions, needed, logger);
    } else {
      await ensureStreams(jsm, topology, streamOptions, {
        mode,
        onDifference(stream, diff, changed) {
          if (changed) logger.warn({ stream, diff }, "stream settings changed to match the configuration");
          else
            logger.warn(
              { stream, diff },
              "stream settings differ from this service's configuration; left as they are (only the gateway, or STREAM_PROVISIONING=update, changes them)",
            );
        },
      });
    }

    const durables = new Map<DurableName, DurableBinding>();
    for (const name of spec.durables as readonly DurableName[]) {
      const b = durableBinding(topology, name);
      const catalog = CONSUMERS[name] as DurableSpec;
      const binding: DurableBinding = {
        ...b,
        policy: def.retryOf?.(config, name, catalog.retry) ?? catalog.retry,
        maxAckPending: def.maxAckPendingOf?.(config, name, catalog.maxAckPending) ?? catalog.maxAckPending,
      };
      await ensureConsumer(jsm, {
        stream: binding.stream,
        durable: name,
        filterSubject: binding.filterSubject,
        maxDeliver: binding.policy.maxDeliver,
        ackWaitMs: binding.policy.ackWaitMs,
        maxAckPending: binding.maxAckPending,
      });
      durables.set(name, binding);
    }
    registerConsumerGauges(registry, {
      jsm,
      durables: [...durables.values()].map((d) => ({ stream: d.stream, durable: d.durable })),
    });

    let connected = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") connected = false;
        else if (s.type === "reconnect") connected = true;
      }
    })();

    const ctx: ServiceContext<C> = {
      name: def.name,
      config,
      logger,
      topology,
      registry,
      nc,
      js,
      jsm,
      durables,
      streamProvisioning: mode,
      orm() {
        if (!orm) throw new Error(`${def.name} has no database`);
        return orm;
      },
      isConnected: () => connected && !nc.isClosed(),
      requireAdmin: adminAuth({
        tokens: adminTokens(config),
        failureBurst: config.ADMIN_FAILURE_BURST,
        failuresPerSec: config.ADMIN_FAILURES_PER_SEC,
        // a development default: production never names where a token is
        devTokenFile: process.env.NODE_ENV === "production" ? undefined : config.HOOKSTREAM_DEV_TOKEN_FILE,
      }),
      now,
    };

    const parts = await def.start(ctx);
    const consumers = parts.consumers ?? [];
    steps.push({ name: "consumers", close: () => Promise.all(consumers.map((c) => c.stop())) });
    const streams = spec.streams.map((s) => topology.streams[s]);
    const app = createHttpApp({
      logger: logger as FastifyBaseLogger,
      registry,
      dependencies: def.db ? ["nats", "postgres"] : ["nats"],
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: config.HTTP_CONNECTION_TIMEOUT_MS,
      openapi: { title: def.name, description: spec.summary },
      ...parts.http,
      async readiness() {
        if (!connected) return "NATS disconnected";
        const nats =
          mode === "verify"
            ? await verifiedStreamsReadiness(nc, jsm, topology, streamOptions, streams)
            : await natsReadiness(nc, jsm, streams);
        if (nats !== null || !orm) return nats;
        return postgresReadiness(orm);
      },
    });
    await parts.routes?.(app);
    // HTTP first (stop taking work; requests in flight finish while NATS is still up),
    // then consumers (finish in-flight work, hand back what was buffered), the service's
    // own, NATS drain (flushes acks and publishes), then Postgres, then spans.
    const ordered: ShutdownStep[] = [
      { name: "http", close: () => app.close() },
      { name: "consumers", close: () => Promise.all(consumers.map((c) => c.stop())) },
      ...(parts.stop ? [{ name: "service", close: parts.stop }] : []),
      { name: "nats", close: () => nc.drain() },
      ...(orm ? [{ name: "orm", close: () => (orm as MikroORM).close() }] : []),
      { name: "tracing", close: () => tracing.shutdown() },
    ];
    const running: RunningService<C> = {
      app,
      ctx,
      steps: ordered,
      async stop() {
        for (const step of ordered) {
          await Promise.resolve(step.close()).catch((err) =>
            logger.error({ err, step: step.name }, "error while closing"),
          );
        }
      },
    };
    return running;
  } catch (err) {
    await closeEarly();
    throw err;
  }
}

/**
 * How the service treats the streams at start (STREAM_PROVISIONING): in production
 * (NODE_ENV=production, as the image sets it) it only verifies them, since the
 * one-shot provisioning step owns them and no long-running service's NATS user may
 * create or update a stream; elsewhere the owner updates and the others create.
 */
export function streamProvisioningMode(
  configured: "verify" | "create" | "update" | undefined,
  ownsStreams: boolean,
  nodeEnv = process.env.NODE_ENV,
): "verify" | "create" | "update" {
  if (configured) return configured;
  if (nodeEnv === "production") return "verify";
  return ownsStreams ? "update" : "create";
}

/**
 * Waits until every stream the service reads exists (its durables cannot be bound
 * before), saying which is missing and what to run; logs each difference, naming the
 * setting and its variable. Differences do not stop the start: /readyz reports them.
 */
async function awaitProvisionedStreams(
  jsm: JetStreamManager,
  topology: Topology,
  options: ReturnType<typeof streamOptionsFromEnv>,
  names: string[],
  logger: Logger,
): Promise<void> {
  let said = 0;
  for (;;) {
    const problems = await streamProblems(jsm, topology, options, names);
    const missing = problems.filter((p) => p.missing);
    for (const p of problems.filter((q) => !q.missing && said === 0)) {
      logger.error({ stream: p.stream, diff: p.diff }, describeStreamProblem(topology, p));
    }
    if (missing.length === 0) return;
    if (Date.now() - said > 30_000) {
      said = Date.now();
      for (const p of missing) logger.error({ stream: p.stream }, describeStreamProblem(topology, p));
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** /readyz in verify mode: the connection, then every stream present and as the settings give it. */
async function verifiedStreamsReadiness(
  nc: NatsConnection,
  jsm: JetStreamManager,
  topology: Topology,
  options: ReturnType<typeof streamOptionsFromEnv>,
  streams: string[],
): Promise<string | null> {
  if (nc.isClosed()) return "NATS connection closed";
  if (nc.isDraining()) return "NATS connection draining";
  try {
    const problems = await streamProblems(jsm, topology, options, streams);
    return problems.length === 0 ? null : problems.map((p) => describeStreamProblem(topology, p)).join("; ");
  } catch (err) {
    return `streams unavailable: ${err instanceof Error ? err.message : String(err)}`;
  }
}
