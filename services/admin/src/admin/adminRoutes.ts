import { AUDIT_STATUSES, WebhookEvent, type WebhookEventRow } from "@hookstream/audit-store";
import { EventIdParams, isHandlerName, ProviderName, type Topology } from "@hookstream/contracts";
import { parseInput } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import { z } from "zod";
import type { AdminMetrics } from "../adminMetrics";
import { registerEraseRoutes } from "../erasure/index";
import {
  DEFAULT_VERDICT_WAIT_MS,
  natsConnectionOf,
  type ReplayLocks,
  registerReplayRoutes,
  replayWithVerdict,
} from "../replay/index";
import { adminErrorHandler, BadRequestError } from "./adminErrors";
import { type DlqFilter, readDlq, redriveDlq } from "./dlq";
import { parseSince } from "./since";

export interface AdminDeps {
  /** the shared admin check (503 when no token is configured, 401/403, failures rate limited) */
  requireAdmin: preHandlerAsyncHookHandler;
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  metrics: AdminMetrics;
  now: () => Date;
  /** one bulk replay per handler at a time, across every admin instance */
  replayLocks: ReplayLocks;
}

const MAX_LIST = 1_000;

const EventsQuery = z.object({
  status: z.enum(AUDIT_STATUSES).optional(),
  type: z.string().min(1).optional(),
  project: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST).default(50),
});

const DlqQuery = z.object({
  handler: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  since: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(MAX_LIST),
});

const ReplayBody = z.object({
  handler: z.string().min(1).optional(),
  /** the event's sender; without it the id alone must name one event */
  provider: ProviderName.optional(),
  force: z.boolean().default(false),
  /** how long to wait for the handler's verdict (0: do not wait) */
  waitMs: z.number().int().min(0).max(30_000).default(DEFAULT_VERDICT_WAIT_MS),
});

function bad(message: string): BadRequestError {
  return new BadRequestError(message);
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  throw bad(r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
}

function dlqFilter(q: { handler?: string; type?: string; since?: string }, nowMs: number): DlqFilter {
  if (q.handler !== undefined && !isHandlerName(q.handler)) throw bad(`no handler named "${q.handler}"`);
  if (q.type !== undefined && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(q.type)) {
    throw bad(`type "${q.type}" is not an event type`);
  }
  let since: Date | undefined;
  if (q.since !== undefined) {
    const parsed = parseSince(q.since, nowMs);
    if (!parsed) throw bad(`since "${q.since}" is neither an ISO-8601 time nor a duration like 30m, 2h, 7d`);
    since = parsed;
  }
  return { handler: q.handler as DlqFilter["handler"], type: q.type, since };
}

function eventView(r: WebhookEventRow) {
  return {
    event_id: r.eventId,
    provider: r.provider,
    event_type: r.eventType,
    status: r.status,
    retry_count: r.retryCount,
    error_message: r.errorMessage ?? null,
    processed_at: r.processedAt ?? null,
    resource_type: r.resourceType ?? null,
    resource_id: r.resourceId ?? null,
    webhook_id: r.webhookId ?? null,
    stream_seq: r.streamSeq ?? null,
    subject: r.subject ?? null,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    project: r.project ?? null,
  };
}

/**
 * The admin API (`/admin/*`), behind `Authorization: Bearer $ADMIN_TOKEN`. With no
 * token configured every route answers 503: an open replay endpoint would let anyone
 * re-run side effects.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { js, jsm, topology, metrics } = deps;

  app.register(async (admin) => {
    admin.addHook("onRequest", deps.requireAdmin);

    admin.setErrorHandler(adminErrorHandler("admin request failed"));

    admin.get("/admin/events", async (req) => {
      const q = parse(EventsQuery, req.query);
      const rows = await deps.em.fork().find(
        WebhookEvent,
        {
          ...(q.status ? { status: q.status } : {}),
          ...(q.type ? { eventType: q.type } : {}),
          ...(q.project ? { project: q.project } : {}),
        },
        { orderBy: { id: "desc" }, limit: q.limit },
      );
      return { events: rows.map(eventView) };
    });

    admin.get("/admin/dlq", async (req) => {
      const q = parse(DlqQuery, req.query);
      const found = await readDlq(js, jsm, topology, dlqFilter(q, deps.now().getTime()), q.limit);
      return { count: found.length, messages: found.map((f) => f.entry) };
    });

    admin.post("/admin/dlq/replay", async (req) => {
      const body = parse(DlqQuery, req.body);
      const replayed = await redriveDlq(js, jsm, topology, dlqFilter(body, deps.now().getTime()), body.limit);
      metrics.replays.inc({ source: "dlq" }, replayed.length);
      return { replayed: replayed.length, messages: replayed };
    });

    admin.post<{ Params: { event_id: string } }>("/admin/replay/:event_id", async (req) => {
      const body = parse(ReplayBody, req.body);
      const result = await replayWithVerdict(
        { em: deps.em.fork(), js, jsm, nc: natsConnectionOf(js), topology },
        {
          eventId: parseInput(EventIdParams, req.params, "params").event_id,
          provider: body.provider,
          handler: body.handler,
          force: body.force,
          waitMs: body.waitMs,
        },
      );
      metrics.replays.inc({ source: "event" });
      return result;
    });

    registerReplayRoutes(admin, {
      em: deps.em,
      js,
      jsm,
      topology,
      now: deps.now,
      replayLocks: deps.replayLocks,
    });
    registerEraseRoutes(admin, { em: deps.em, js, jsm, topology, now: deps.now });
  });
}
