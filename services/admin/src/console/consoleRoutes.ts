import { EventIdParams, EventProviderQuery, type Topology } from "@hookstream/contracts";
import { parseInput, UnavailableError } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import { z } from "zod";
import { adminErrorHandler, BadRequestError, NotFoundError } from "../admin/adminErrors";
import { eventName } from "../admin/eventOfId";
import type { AdminMetrics } from "../adminMetrics";
import { DEFAULT_LIVE_LIMITS, type LiveLimits } from "./consoleConfig";
import { registerDestinationsProxy } from "./destinationsProxy";
import { eventDetail } from "./eventDetail";
import { eventStats } from "./eventStats";
import { registerJobsProxy } from "./jobsProxy";
import type { LiveFeed } from "./liveFeed";
import { redriveBySeq } from "./redriveBySeq";
import { eventFilterOf, matchesFilter, SearchQuery, searchEvents } from "./searchEvents";

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

const RedriveBody = z.object({ seqs: z.array(z.number().int().positive()).min(1).max(1_000) });
const LiveQuery = SearchQuery.omit({ limit: true, cursor: true });

/** A browser's live stream gets a comment this often, so proxies keep it open and a dead peer is noticed. */
const HEARTBEAT_MS = 15_000;

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  throw new BadRequestError(
    r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
  );
}

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
    admin.addHook("onRequest", deps.requireAdmin);
    admin.setErrorHandler(adminErrorHandler("console request failed"));

    admin.get("/admin/events/search", async (req) => {
      const q = parse(SearchQuery, req.query);
      return searchEvents(em.fork(), eventFilterOf(q, deps.now().getTime()), q);
    });

    admin.get("/admin/events/live", async (req, reply) => {
      const filter = eventFilterOf(parse(LiveQuery, req.query), deps.now().getTime());
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
    });

    admin.get("/admin/events/:event_id", async (req) => {
      const { event_id: eventId } = parseInput(EventIdParams, req.params, "params");
      const { provider } = parseInput(EventProviderQuery, req.query, "query");
      const detail = await eventDetail(em.fork(), eventId, provider);
      if (!detail) throw new NotFoundError(`no event ${eventName(eventId, provider)} in webhook_events`);
      return detail;
    });

    admin.get("/admin/stats", async () => eventStats(em.fork(), deps.now()));

    admin.post("/admin/dlq/redrive", async (req) => {
      const { seqs } = parse(RedriveBody, req.body);
      const done = await redriveBySeq(js, jsm, topology, seqs);
      deps.metrics.replays.inc({ source: "dlq" }, done.length);
      return { replayed: done.length, messages: done };
    });

    registerJobsProxy(admin, deps.fineTuneUrl);
    registerDestinationsProxy(admin, deps.deliveryUrl);
  });
}
