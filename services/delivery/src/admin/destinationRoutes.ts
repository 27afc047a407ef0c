import { randomUUID } from "node:crypto";
import {
  type DestinationList,
  DestinationNameParam,
  DestinationPauseRequest,
  type DestinationStatus,
  type DestinationTestResult,
  type ResolvedDestination,
} from "@hookstream/contracts";
import { maskUrl } from "@hookstream/runtime";
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
  const pre = { preHandler: deps.requireAdmin };
  const find = (params: unknown, reply: FastifyReply): ResolvedDestination | null => {
    const p = DestinationNameParam.safeParse(params);
    if (!p.success) {
      void fail(reply, 400, "invalid_name", `name: ${p.error.issues[0]?.message ?? "invalid"}`);
      return null;
    }
    const d = byName.get(p.data.name);
    if (!d) void fail(reply, 404, "unknown_destination", `no destination "${p.data.name}" is configured`);
    return d ?? null;
  };

  app.get(
    "/admin/destinations",
    pre,
    async (): Promise<DestinationList> => ({
      destinations: await Promise.all(deps.destinations.map((d) => destinationStatus(deps, d))),
    }),
  );

  for (const action of ["pause", "resume"] as const) {
    app.post(`/admin/destinations/:name/${action}`, pre, async (req, reply) => {
      const d = find(req.params, reply);
      if (!d) return reply;
      const body = DestinationPauseRequest.safeParse(req.body ?? {});
      if (!body.success) return fail(reply, 400, "invalid_body", `reason: ${body.error.issues[0]?.message}`);
      if (action === "pause") await deps.breaker.pause(d.name, "operator", body.data.reason ?? null);
      else await deps.breaker.resume(d.name);
      return destinationStatus(deps, d);
    });
  }

  app.post(
    "/admin/destinations/:name/test",
    pre,
    async (req, reply): Promise<DestinationTestResult | FastifyReply> => {
      const d = find(req.params, reply);
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
  );
}
