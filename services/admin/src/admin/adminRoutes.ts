import { WebhookEvent, type WebhookEventRow } from "@hookstream/audit-store";
import {
  DlqList,
  DlqQuery,
  DlqRedriveResult,
  EventIdParams,
  EventList,
  EventListQuery,
  parseSince,
  SingleReplayRequest,
  SingleReplayResult,
  type Topology,
} from "@hookstream/contracts";
import { defineRoute } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import type { AdminMetrics } from "../adminMetrics";
import { registerEraseRoutes } from "../erasure/index";
import { natsConnectionOf, type ReplayLocks, registerReplayRoutes, replayWithVerdict } from "../replay/index";
import { adminErrorHandler } from "./adminErrors";
import { type DlqFilter, readDlq, redriveDlq } from "./dlq";
import { redriveResult } from "./redriveDeadLetter";

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

/** The filter of a dead-letter query, its time resolved against now (the schema checked its range). */
function dlqFilter(q: DlqQuery, nowMs: number): DlqFilter {
  return {
    handler: q.handler as DlqFilter["handler"],
    type: q.type,
    since: q.since === undefined ? undefined : (parseSince(q.since, nowMs) ?? undefined),
  };
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
    admin.setErrorHandler(adminErrorHandler("admin request failed"));
    const auth = deps.requireAdmin;

    defineRoute(admin, {
      method: "GET",
      url: "/admin/events",
      summary: "the newest audit rows (webhook_events), filtered; no paging (the search pages)",
      tags: ["events"],
      auth,
      query: EventListQuery,
      response: EventList,
      handler: async (req) => {
        const q = req.query;
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
      },
    });

    defineRoute(admin, {
      method: "GET",
      url: "/admin/dlq",
      summary: "dead letters (WEBHOOK_DLQ), oldest first; reading changes nothing",
      tags: ["dlq"],
      auth,
      query: DlqQuery,
      response: DlqList,
      handler: async (req) => {
        const q = req.query;
        const found = await readDlq(js, jsm, topology, dlqFilter(q, deps.now().getTime()), q.limit);
        return { count: found.length, messages: found.map((f) => f.entry) };
      },
    });

    defineRoute(admin, {
      method: "POST",
      url: "/admin/dlq/replay",
      summary:
        "redrive every matching dead letter to its handler, or its destination (delivery.<name>), and remove it from the DLQ; one nothing would take back stays, listed in `left`",
      tags: ["dlq"],
      auth,
      body: DlqQuery,
      response: DlqRedriveResult,
      handler: async (req) => {
        const body = req.body;
        const result = redriveResult(
          await redriveDlq(js, jsm, topology, dlqFilter(body, deps.now().getTime()), body.limit),
        );
        metrics.replays.inc({ source: "dlq" }, result.replayed);
        return result;
      },
    });

    defineRoute(admin, {
      method: "POST",
      url: "/admin/replay/:event_id",
      summary:
        "replay one audited event to its handler (or the one named) and wait for the handler's verdict",
      tags: ["replay"],
      auth,
      params: EventIdParams,
      body: SingleReplayRequest,
      response: SingleReplayResult,
      handler: async (req) => {
        const body = req.body;
        const result = await replayWithVerdict(
          { em: deps.em.fork(), js, jsm, nc: natsConnectionOf(js), topology },
          {
            eventId: req.params.event_id,
            provider: body.provider,
            handler: body.handler,
            force: body.force,
            waitMs: body.waitMs,
          },
        );
        metrics.replays.inc({ source: "event" });
        return result;
      },
    });

    registerReplayRoutes(admin, {
      em: deps.em,
      js,
      jsm,
      topology,
      now: deps.now,
      replayLocks: deps.replayLocks,
      requireAdmin: auth,
    });
    registerEraseRoutes(admin, { em: deps.em, js, jsm, topology, now: deps.now, requireAdmin: auth });
  });
}
