import { randomUUID } from "node:crypto";
import {
  DestinationList,
  DestinationNameParam,
  DestinationPauseRequest,
  DestinationStatus,
  DestinationTestResult,
  type ResolvedDestination,
} from "@hookstream/contracts";
import { defineRoute, maskUrl } from "@hookstream/runtime";
import type { FastifyInstance, FastifyReply, preHandlerAsyncHookHandler } from "fastify";
import { stateOf } from "../breaker/breakerState";
import type { SharedBreaker } from "../breaker/sharedBreaker";
import type { RecentAttempts } from "../deliveryMetrics";
import type { DeliveryEvent } from "../routing/readEvent";
import { sendAttempt } from "../send/sendAttempt";

export interface DestinationRoutesDeps {
  destinations: ResolvedDestination[];
  breaker: SharedBreaker;
  recent: Map<string, RecentAttempts>;
  pendingOf: (name: string) => Promise<number | null>;
  requireAdmin: preHandlerAsyncHookHandler;
  now: () => number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One destination as the CLI and the console show it. */
export async function destinationStatus(
  deps: DestinationRoutesDeps,
  d: ResolvedDestination,
): Promise<DestinationStatus> {
  const s = deps.breaker.state(d.name);
  const recent = deps.recent.get(d.name);
  const state = stateOf(s);
  const reason =
    state === "paused"
      ? `paused by ${s.paused?.by ?? "an operator"}${s.paused?.reason ? `: ${s.paused.reason}` : ""}`
      : state === "open"
        ? `breaker open after ${s.failures} consecutive failures`
        : null;
  return {
    name: d.name,
    url: maskUrl(d.url),
    source: d.source,
    ordering: d.ordering,
    state,
    reason,
    retry_at: state === "open" ? iso(s.retryAt) : null,
    failures: s.failures,
    pending: await deps.pendingOf(d.name),
    success_rate: recent?.successRate() ?? null,
    p99_ms: recent?.p99() ?? null,
    last_error: recent?.lastError ?? s.lastError,
    last_error_at: iso(recent?.lastErrorAt ?? s.lastErrorAt),
  };
}

function fail(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).send({ error, message });
}

/**
 * The operator's routes (admin token): `GET /admin/destinations`, and
 * `POST /admin/destinations/:name/pause|resume|test`. Pause and resume write the shared
 * state, so every instance stops or starts within a round trip; a test event is one
 * signed request sent now, outside the queue, and its answer returned.
 */
export function registerDestinationRoutes(app: FastifyInstance, deps: DestinationRoutesDeps): void {
  const byName = new Map(deps.destinations.map((d) => [d.name, d]));
  const auth = deps.requireAdmin;
  const find = (name: string, reply: FastifyReply): ResolvedDestination | null => {
    const d = byName.get(name);
    if (!d) void fail(reply, 404, "unknown_destination", `no destination "${name}" is configured`);
    return d ?? null;
  };

  defineRoute(app, {
    method: "GET",
    url: "/admin/destinations",
    summary: "every destination with its state (breaker, pause), pending count and recent success rate",
    tags: ["destinations"],
    auth,
    response: DestinationList,
    handler: async (): Promise<DestinationList> => ({
      destinations: await Promise.all(deps.destinations.map((d) => destinationStatus(deps, d))),
    }),
  });

  for (const action of ["pause", "resume"] as const) {
    defineRoute(app, {
      method: "POST",
      url: `/admin/destinations/:name/${action}`,
      summary:
        action === "pause"
          ? "pause one destination on every instance (its events wait in the stream)"
          : "resume a paused destination on every instance",
      tags: ["destinations"],
      auth,
      params: DestinationNameParam,
      ...(action === "pause" ? { body: DestinationPauseRequest } : {}),
      response: DestinationStatus,
      handler: async (req, reply) => {
        const d = find(req.params.name, reply);
        if (!d) return reply;
        const reason = (req.body as DestinationPauseRequest | undefined)?.reason ?? null;
        if (action === "pause") await deps.breaker.pause(d.name, "operator", reason);
        else await deps.breaker.resume(d.name);
        return destinationStatus(deps, d);
      },
    });
  }

  defineRoute(app, {
    method: "POST",
    url: "/admin/destinations/:name/test",
    summary: "send one signed test event to the destination now, outside the queue, and answer how it went",
    tags: ["destinations"],
    auth,
    params: DestinationNameParam,
    response: DestinationTestResult,
    handler: async (req, reply): Promise<DestinationTestResult | FastifyReply> => {
      const d = find(req.params.name, reply);
      if (!d) return reply;
      const nowMs = deps.now();
      const id = `evt_test_${randomUUID().replaceAll("-", "")}`;
      const body = JSON.stringify({
        event_type: "hookstream.test",
        event_id: id,
        destination: d.name,
        sent_at: new Date(nowMs).toISOString(),
      });
      const data = new TextEncoder().encode(body);
      const ev: DeliveryEvent = {
        facts: { eventId: id, eventType: "hookstream.test", provider: "hookstream", handler: null },
        data,
        json: () => JSON.parse(body),
        resource: () => null,
        storedAtMs: nowMs,
      };
      const r = await sendAttempt({ ...d, body: "as-is" }, ev, nowMs);
      return {
        name: d.name,
        ok: r.ok,
        status_code: r.statusCode,
        latency_ms: Math.round(r.latencyMs * 100) / 100,
        error: r.error,
      };
    },
  });
}
