import {
  DlqRedriveRequest,
  DlqRedriveResult,
  EventDetail,
  EventIdParams,
  EventLiveQuery,
  EventPage,
  EventProviderQuery,
  EventSearchQuery,
  EventStats,
  type Topology,
} from "@hookstream/contracts";
import { defineRoute, UnavailableError } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { adminErrorHandler, NotFoundError } from "../admin/adminErrors";
import { eventName } from "../admin/eventOfId";
import { redriveResult } from "../admin/redriveDeadLetter";
import type { AdminMetrics } from "../adminMetrics";
import { DEFAULT_LIVE_LIMITS, type LiveLimits } from "./consoleConfig";
import { registerDestinationsProxy } from "./destinationsProxy";
import { eventDetail } from "./eventDetail";
import { eventStats } from "./eventStats";
import { registerJobsProxy } from "./jobsProxy";
import type { LiveFeed } from "./liveFeed";
import { redriveBySeq } from "./redriveBySeq";
import { type EventFilter, eventFilterOf, matchesFilter, searchEvents } from "./searchEvents";

export interface ConsoleRouteDeps {
  /** the service's shared admin check */
  requireAdmin: preHandlerAsyncHookHandler;
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  metrics: Pick<AdminMetrics, "replays">;
  now: () => Date;
  fineTuneUrl: string;
  /** the delivery service (DELIVERY_URL): the Destinations page's routes */
  deliveryUrl: string;
  feed: Pick<LiveFeed, "subscribe">;
  /** connections held at once and bytes waiting per client (default DEFAULT_LIVE_LIMITS) */
  live?: LiveLimits;
}

/** A browser's live stream gets a comment this often, so proxies keep it open and a dead peer is noticed. */
const HEARTBEAT_MS = 15_000;

/**
 * The admin routes the console needs beyond adminRoutes.ts, behind the same bearer
 * token: event search with keyset paging, one event with its attempts, stats, a
 * live stream of events (server-sent events), redrive of chosen dead letters, the
 * job API of the fine-tune service and the destinations of the delivery service.
 */
export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { em, js, jsm, topology, feed } = deps;
  const live = deps.live ?? DEFAULT_LIVE_LIMITS;
  const open = new Set<() => void>();

  // an open event stream would hold app.close() (and SIGTERM) until the browser left
  app.addHook("preClose", async () => {
    for (const end of open) end();
  });

  app.register(async (admin) => {
    admin.setErrorHandler(adminErrorHandler("console request failed"));
    const auth = deps.requireAdmin;

    defineRoute(admin, {
      method: "GET",
      url: "/admin/events/search",
      summary: "search the audit rows, newest first, keyset-paginated (next_cursor)",
      tags: ["events"],
      auth,
      query: EventSearchQuery,
      response: EventPage,
      handler: async (req) =>
        searchEvents(em.fork(), eventFilterOf(req.query, deps.now().getTime()), req.query),
    });

    defineRoute(admin, {
      method: "GET",
      url: "/admin/events/live",
      summary:
        "the rows the search would show, pushed as they arrive or change (server-sent events `events`)",
      tags: ["events"],
      auth,
      query: EventLiveQuery,
      responseType: "text/event-stream",
      handler: (req, reply) => liveEvents(req, reply, eventFilterOf(req.query, deps.now().getTime())),
    });

    async function liveEvents(req: FastifyRequest, reply: FastifyReply, filter: EventFilter) {
      // each connection holds a socket and a listener: a bounded number per instance
      if (open.size >= live.maxConnections) {
        throw new UnavailableError(
          `this instance already serves ${open.size} live connections (LIVE_MAX_CONNECTIONS); the page falls back to reloading`,
          "live_feed_full",
          5,
        );
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      });
      // A client that stops reading (a suspended laptop, a stuck proxy) would make its
      // unsent events pile up in this process: past the bound it is dropped, and its
      // browser reconnects (`retry`) and reloads the list when it reads again.
      const send = (text: string) => {
        res.write(text);
        if (res.writableLength > live.maxBufferBytes) {
          req.log.warn(
            { waiting_bytes: res.writableLength, limit: live.maxBufferBytes },
            "live feed: client not reading; dropped",
          );
          end(true);
        }
      };
      send("retry: 2000\n: live\n\n");
      const unsubscribe = feed.subscribe((rows) => {
        const shown = rows.filter((r) => matchesFilter(filter, r));
        if (shown.length > 0) send(`event: events\ndata: ${JSON.stringify(shown)}\n\n`);
      });
      const heartbeat = setInterval(() => send(": ping\n\n"), HEARTBEAT_MS);
      function end(drop = false) {
        if (!open.delete(end)) return;
        clearInterval(heartbeat);
        unsubscribe();
        if (drop) res.destroy();
        else res.end();
      }
      open.add(end);
      req.raw.on("close", () => end());
    }

    defineRoute(admin, {
      method: "GET",
      url: "/admin/events/:event_id",
      summary: "one audit row with its body, headers, every handler attempt and every notification attempt",
      tags: ["events"],
      auth,
      params: EventIdParams,
      query: EventProviderQuery,
      response: EventDetail,
      handler: async (req) => {
        const eventId = req.params.event_id;
        const { provider } = req.query;
        const detail = await eventDetail(em.fork(), eventId, provider);
        if (!detail) throw new NotFoundError(`no event ${eventName(eventId, provider)} in webhook_events`);
        return detail;
      },
    });

    defineRoute(admin, {
      method: "GET",
      url: "/admin/stats",
      summary: "counts by status and type, and rows received per minute over the last hour",
      tags: ["events"],
      auth,
      response: EventStats,
      handler: async () => eventStats(em.fork(), deps.now()),
    });

    defineRoute(admin, {
      method: "POST",
      url: "/admin/dlq/redrive",
      summary:
        "redrive the dead letters picked by their DLQ sequence (one no longer there is skipped; one nothing would take back stays, listed in `left`)",
      tags: ["dlq"],
      auth,
      body: DlqRedriveRequest,
      response: DlqRedriveResult,
      handler: async (req) => {
        const result = redriveResult(await redriveBySeq(js, jsm, topology, req.body.seqs));
        deps.metrics.replays.inc({ source: "dlq" }, result.replayed);
        return result;
      },
    });

    registerJobsProxy(admin, deps.fineTuneUrl, auth);
    registerDestinationsProxy(admin, deps.deliveryUrl, auth);
  });
}
