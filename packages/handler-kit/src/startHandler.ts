import {
  HANDLERS,
  handlerFilterSubject,
  MessageHeader,
  makeTopology,
  OpenAIEvent,
  type Outcome,
  ReplayHeader,
  type RetryPolicy,
  replayDurable,
  type Topology,
} from "@hookstream/contracts";
import { initOrm } from "@hookstream/db";
import {
  type AckDecision,
  type ConsumerRunner,
  connectNats,
  DEFAULT_STREAM_OPTIONS,
  deadLetter,
  ensureConsumer,
  ensureStreams,
  errorMessage,
  MaxDeliveriesAdvisory,
  PermanentError,
  publishOutcome,
  RetryableError,
  runConsumer,
} from "@hookstream/messaging";
import { createRegistry, registerHealthRoutes, tracedFetch } from "@hookstream/observability";
import { natsReadiness, type ShutdownStep } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import { type JetStreamClient, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import OpenAI from "openai";
import type { Logger } from "pino";
import { classifyOpenAIError } from "./classifyError";
import type { HandlerContext, HandlerDefinition } from "./HandlerDefinition";
import type { HandlerConfig } from "./handlerConfig";
import { handlerMetrics } from "./handlerMetrics";
import { Inbox, inboxMigrations } from "./inbox";
import { postJson } from "./postJson";

/** Another copy of the event holds its inbox lease; retry this one later. */
export class InProgressElsewhere extends RetryableError {
  constructor(eventId: string, leaseMs: number) {
    // come back once the lease can have expired, rather than spending deliveries on it
    super(`event ${eventId} is being handled by another delivery`, { retryAfterMs: leaseMs });
  }
}

export interface RunningHandler {
  app: FastifyInstance;
  nc: NatsConnection;
  orm: MikroORM;
  /** HTTP, consumers, NATS drain, ORM: the shutdown order */
  steps: ShutdownStep[];
}

interface EventRef {
  id: string;
  type: string;
}

/** The event's id and type from the contract headers, else from the body. */
function eventRef(msg: JsMsg): EventRef | null {
  const id = msg.headers?.get(MessageHeader.MsgId);
  const type = msg.headers?.get(MessageHeader.EventType);
  if (id && type) return { id, type };
  try {
    const parsed = OpenAIEvent.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
    return parsed.success ? { id: parsed.data.id, type: parsed.data.type } : null;
  } catch {
    return null;
  }
}

export function retryPolicyOf(config: HandlerConfig): RetryPolicy {
  return {
    maxDeliver: config.HANDLER_MAX_DELIVER,
    ackWaitMs: config.HANDLER_ACK_WAIT_MS,
    baseDelayMs: config.HANDLER_BASE_DELAY_MS,
    maxDelayMs: config.HANDLER_MAX_DELAY_MS,
  };
}

/**
 * Wires one domain handler: its inbox (migrated at start), its durable on WEBHOOKS,
 * its replay durable on WEBHOOK_REPLAYS, its max-deliveries advisory consumer, and
 * the HTTP app with /healthz /readyz /metrics. Does not listen.
 */
export async function startHandler(
  definition: HandlerDefinition,
  config: HandlerConfig,
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<RunningHandler> {
  const name = definition.handler;
  const spec = HANDLERS[name];
  const topology: Topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
  const policy = retryPolicyOf(config);

  const orm = (await initOrm({
    url: config.DATABASE_URL,
    owner: `${name}-handler`,
    entities: [],
    migrations: inboxMigrations(name),
    logger,
  })) as MikroORM;
  const inbox = new Inbox(orm, name);

  const nc = await connectNats({ servers: config.NATS_URL, name: `${name}-handler`, logger });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureStreams(jsm, topology, { ...DEFAULT_STREAM_OPTIONS, replicas: config.STREAM_REPLICAS });

  const consumers = [
    {
      stream: topology.streams.webhooks,
      durable: spec.durable,
      filterSubject: handlerFilterSubject(topology, name),
    },
    {
      stream: topology.streams.replays,
      durable: replayDurable(name),
      filterSubject: `${topology.subjects.replaysPrefix}.${name}.>`,
    },
  ];
  for (const c of consumers) {
    await ensureConsumer(jsm, { ...c, maxDeliver: policy.maxDeliver, ackWaitMs: policy.ackWaitMs });
  }
  const advisoryConsumers = [
    {
      durable: `${name}-advisories`,
      filterSubject: `${topology.subjects.maxDeliveriesAdvisory}.${spec.durable}`,
      source: topology.streams.webhooks,
    },
    {
      durable: `${name}-replay-advisories`,
      filterSubject: `${topology.subjects.maxDeliveriesReplayAdvisory}.${replayDurable(name)}`,
      source: topology.streams.replays,
    },
  ];
  for (const a of advisoryConsumers) {
    await ensureConsumer(jsm, {
      stream: topology.streams.advisories,
      durable: a.durable,
      filterSubject: a.filterSubject,
      maxDeliver: -1,
      ackWaitMs: 30_000,
    });
  }

  const registry = createRegistry(`${name}-handler`);
  const metrics = handlerMetrics(registry, { handler: name, consumers: { jsm, durables: consumers } });
  const openai = config.OPENAI_API_KEY
    ? new OpenAI({
        apiKey: config.OPENAI_API_KEY,
        baseURL: config.OPENAI_BASE_URL,
        timeout: config.OPENAI_TIMEOUT_MS,
        // our own nak backoff retries, visibly and durably; the SDK's in-process retries would hide them
        maxRetries: 0,
        // each call a CLIENT span of the event's trace, with traceparent on the request
        fetch: tracedFetch,
      })
    : null;

  // held while an attempt works and renewed as often as the in-progress acks, so it
  // outlives a crashed attempt by at most one ack wait: the server redelivers no sooner
  const leaseMs = policy.ackWaitMs;

  /** deliveries that found the event already handled (counted apart from the work done) */
  const skipped = new WeakSet<JsMsg>();

  async function handle(msg: JsMsg, attempt: number): Promise<void> {
    const force = msg.headers?.get(ReplayHeader.Force) === "true";
    let parsed: OpenAIEvent;
    try {
      const result = OpenAIEvent.safeParse(
        JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(msg.data)),
      );
      if (!result.success) throw new Error(result.error.issues.map((i) => i.message).join("; "));
      parsed = result.data;
    } catch (err) {
      throw new PermanentError(`not an OpenAI event: ${errorMessage(err)}`);
    }
    const event = parsed;
    const log = logger.child({ event_id: event.id, event_type: event.type, attempt, force });
    const claimed = await inbox.claim(event.id, event.type, leaseMs, force);
    if (claimed === "completed") {
      skipped.add(msg);
      metrics.skipped.inc();
      log.info("already handled; skipping");
      return;
    }
    if (claimed === "busy") throw new InProgressElsewhere(event.id, leaseMs);
    const state = claimed;
    const started = performance.now();
    const ctx: HandlerContext = {
      event,
      attempt,
      force,
      config,
      js,
      topology,
      logger: log,
      openai,
      async callOpenAI(what, fn) {
        if (!openai) throw new PermanentError(`${what}: no OPENAI_API_KEY`);
        try {
          return await fn(openai);
        } catch (err) {
          throw classifyOpenAIError(err, what);
        }
      },
      async once(step, fn) {
        if (state.steps.has(step)) {
          log.debug({ step }, "step already done");
          return;
        }
        await fn();
        await inbox.markStep(event.id, event.type, step);
        state.steps.add(step);
      },
      async notify(notification) {
        for (const url of config.NOTIFY_URLS) {
          await ctx.once(`notify:${url}`, () => ctx.postJson(url, notification));
        }
      },
      postJson: (url, body) =>
        postJson(url, body, { idempotencyKey: event.id, timeoutMs: config.NOTIFY_TIMEOUT_MS }),
    };
    const renew = setInterval(
      () =>
        void inbox.renew(event.id, leaseMs).catch((err) => log.warn({ err }, "could not renew the lease")),
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    try {
      await definition.process(ctx);
    } catch (err) {
      await inbox.release(event.id).catch(() => undefined);
      throw err;
    } finally {
      clearInterval(renew);
    }
    await inbox.complete(event.id, event.type, attempt);
    metrics.seconds.observe((performance.now() - started) / 1000);
    log.info("handled");
  }

  async function record(
    msg: JsMsg,
    decision: AckDecision,
    error: unknown | null,
    replay: boolean,
  ): Promise<void> {
    // An event found already handled is still reported processed: the attempt that did
    // the work may have died between its inbox commit and its outcome, and the audit's
    // fold makes a repeated "processed" harmless.
    // Another copy of the event holds its lease: this one comes back later and finds it
    // done; it is not a failed attempt, so it records no outcome.
    if (error instanceof InProgressElsewhere && decision.kind === "nak") return;
    const ref = eventRef(msg) ?? { id: `seq-${msg.seq}`, type: "unknown" };
    const attempt = msg.info.deliveryCount;
    const outcome: Outcome = {
      event_id: ref.id,
      event_type: ref.type,
      handler: name,
      status: decision.kind === "ack" ? "processed" : decision.kind === "nak" ? "failed" : "dead",
      attempt,
      error: error === null ? null : errorMessage(error),
      at: now().toISOString(),
      stream_seq: replay ? null : msg.seq,
      replay,
    };
    if (decision.kind === "term") {
      await deadLetter(js, topology, {
        handler: name,
        eventId: ref.id,
        eventType: ref.type,
        data: msg.data,
        headers: msg.headers,
        originalSubject: msg.subject,
        originalSeq: msg.seq,
        attempts: attempt,
        error: `${decision.reason}: ${outcome.error ?? "unknown error"}`,
        at: now(),
      });
      metrics.dead.inc({ reason: decision.reason });
    } else if (decision.kind === "nak") {
      metrics.retried.inc();
    } else if (!skipped.has(msg)) {
      metrics.processed.inc();
    }
    await publishOutcome(js, topology, outcome);
  }

  const runners: ConsumerRunner[] = consumers.map((c, i) =>
    runConsumer({
      js,
      stream: c.stream,
      durable: c.durable,
      policy,
      logger: logger.child({ consumer: c.durable }),
      concurrency: config.HANDLER_CONCURRENCY,
      handle: (msg, { attempt }) => handle(msg, attempt),
      beforeSettle: (msg, decision, error) => record(msg, decision, error, i === 1),
    }),
  );

  // A handler that dies on its last delivery never terms the message: the server's
  // MAX_DELIVERIES advisory (captured in a stream) is how it still reaches the DLQ.
  for (const a of advisoryConsumers) {
    runners.push(
      runConsumer({
        js,
        stream: topology.streams.advisories,
        durable: a.durable,
        policy: { ...policy, maxDeliver: -1 },
        logger: logger.child({ consumer: a.durable }),
        concurrency: 1,
        async handle(adv) {
          const advisory = MaxDeliveriesAdvisory.parse(JSON.parse(new TextDecoder().decode(adv.data)));
          const original = await jsm.streams
            .getMessage(a.source, { seq: advisory.stream_seq })
            .catch(() => null);
          if (!original) return; // gone (max age): nothing left to keep
          const fake = { data: original.data, headers: original.header } as unknown as JsMsg;
          const ref = eventRef(fake) ?? { id: `seq-${advisory.stream_seq}`, type: "unknown" };
          if ((await inbox.load(ref.id)).completed) return;
          const error = `exhausted: ${advisory.deliveries} deliveries without an ack (the handler died or timed out)`;
          await deadLetter(js, topology, {
            handler: name,
            eventId: ref.id,
            eventType: ref.type,
            data: original.data,
            headers: original.header,
            originalSubject: original.subject,
            originalSeq: advisory.stream_seq,
            attempts: advisory.deliveries,
            error,
            at: now(),
          });
          metrics.dead.inc({ reason: "max_deliveries" });
          await publishOutcome(js, topology, {
            event_id: ref.id,
            event_type: ref.type,
            handler: name,
            status: "dead",
            attempt: advisory.deliveries,
            error,
            at: now().toISOString(),
            stream_seq: a.source === topology.streams.webhooks ? advisory.stream_seq : null,
            replay: a.source !== topology.streams.webhooks,
          });
          logger.warn(
            { event_id: ref.id, event_type: ref.type, deliveries: advisory.deliveries },
            "dead-lettered after max deliveries",
          );
        },
      }),
    );
  }

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerHealthRoutes(app, {
    registry,
    async readiness() {
      const nats = await natsReadiness(nc, jsm, [topology.streams.webhooks, topology.streams.replays]);
      if (nats) return nats;
      return (await orm.isConnected()) ? null : "Postgres unreachable";
    },
  });

  return {
    app,
    nc,
    orm,
    steps: [
      { name: "http", close: () => app.close() },
      { name: "consumers", close: () => Promise.all(runners.map((r) => r.stop())) },
      { name: "nats", close: () => nc.drain() },
      { name: "orm", close: () => orm.close() },
    ],
  };
}

export type { JetStreamClient };
