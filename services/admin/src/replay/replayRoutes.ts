import {
  BulkReplayRequest,
  BulkReplaySummary,
  isHandlerName,
  MAX_REPLAY_RATE,
  type Topology,
} from "@hookstream/contracts";
import { defineRoute } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { BadRequestError } from "../admin/adminErrors";
import { parseSince } from "../admin/since";
import { adminLabelOf } from "../erasure/eraseRoutes";
import { type BulkReplayFilter, bulkReplay, DEFAULT_REPLAY_RATE } from "./bulkReplay";
import { handlerTakesType, typesTakenBy } from "./handlerTakesType";
import { instanceName, type ReplayLock, type ReplayLocks } from "./replayLocks";

export interface ReplayRouteDeps {
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  now: () => Date;
  /** one bulk replay per handler at a time, across every admin instance */
  replayLocks: ReplayLocks;
  /** the service's admin check */
  requireAdmin: preHandlerAsyncHookHandler;
}

function time(name: string, value: string | undefined, nowMs: number): Date | undefined {
  if (value === undefined) return undefined;
  const t = parseSince(value, nowMs);
  if (!t)
    throw new BadRequestError(
      `${name} "${value}" is neither an ISO-8601 time nor a duration like 30m, 2h, 7d`,
      `invalid_${name}`,
    );
  return t;
}

/**
 * The filter of a bulk replay the route's schema took, or a BadRequestError naming the
 * parameter at fault where the rule spans fields (a type the handler does not take).
 */
export function bulkReplayFilterOf(
  req: BulkReplayRequest,
  nowMs: number,
): { filter: BulkReplayFilter; req: BulkReplayRequest } {
  if (!isHandlerName(req.handler))
    throw new BadRequestError(`no handler named "${req.handler}"`, "invalid_handler");
  if (req.type !== undefined && !handlerTakesType(req.handler, req.type)) {
    throw new BadRequestError(
      `handler ${req.handler} does not take events of type ${req.type} (it takes ${typesTakenBy(req.handler).join(", ")}); nothing replayed`,
      "invalid_type",
    );
  }
  let resource: BulkReplayFilter["resource"];
  if (req.resource !== undefined) {
    const colon = req.resource.indexOf(":");
    if (colon <= 0 || colon === req.resource.length - 1) {
      throw new BadRequestError(
        `resource "${req.resource}" must read <type>:<id>, e.g. fine_tuning_job:ftjob-abc`,
        "invalid_resource",
      );
    }
    resource = { type: req.resource.slice(0, colon), id: req.resource.slice(colon + 1) };
  }
  const since = time("since", req.since, nowMs);
  const until = time("until", req.until, nowMs);
  if (since && until && since >= until)
    throw new BadRequestError("since must be before until", "invalid_until");
  return {
    req,
    filter: { handler: req.handler, type: req.type, status: req.status, since, until, resource },
  };
}

/**
 * `POST /admin/replay`: a bulk replay by filter. The answer is NDJSON: progress lines
 * while it runs (at most one a second), then `{ "result": … }` or `{ "error": … }`.
 * A client that goes away stops the run; running it again resumes it (the inbox).
 * One run per handler at a time across every admin instance (ReplayLocks): another
 * answers 409 `replay_running` before anything is read, so the rates of two runs never
 * add up past MAX_REPLAY_RATE. A dry run only counts and takes no lock.
 * Registered inside the admin scope, behind its token check.
 */
export function registerReplayRoutes(admin: FastifyInstance, deps: ReplayRouteDeps): void {
  const instance = instanceName();
  defineRoute(admin, {
    method: "POST",
    url: "/admin/replay",
    summary: `bulk replay: re-run every audited event matching the filter on one handler, at most rate a second (at most ${MAX_REPLAY_RATE}); one run per handler at a time (409 replay_running)`,
    description:
      "The answer is NDJSON: progress lines (BulkReplayProgress) at most one a second, then { result: BulkReplaySummary } or { error }. A dry run answers its summary only.",
    tags: ["replay"],
    auth: deps.requireAdmin,
    body: BulkReplayRequest,
    response: BulkReplaySummary,
    responseType: "application/x-ndjson",
    handler: (req, reply) => bulkReplayRoute(req.body, req, reply),
  });

  async function bulkReplayRoute(input: BulkReplayRequest, req: FastifyRequest, reply: FastifyReply) {
    const { filter, req: body } = bulkReplayFilterOf(input, deps.now().getTime());
    const dryRun = body.dryRun ?? false;
    const lock: ReplayLock | null = dryRun
      ? null
      : await deps.replayLocks.acquire(filter.handler, {
          instance,
          actor: adminLabelOf(req),
          started_at: deps.now().toISOString(),
        });
    const abort = new AbortController();
    reply.hijack();
    reply.raw.on("close", () => abort.abort());
    reply.raw.writeHead(200, { "content-type": "application/x-ndjson" });
    const line = (value: unknown) => {
      if (!reply.raw.destroyed) reply.raw.write(`${JSON.stringify(value)}\n`);
    };
    try {
      const result = await bulkReplay({ ...deps, em: deps.em.fork() }, filter, {
        rate: body.rate ?? DEFAULT_REPLAY_RATE,
        dryRun,
        force: body.force ?? false,
        signal: lock ? AbortSignal.any([abort.signal, lock.signal]) : abort.signal,
        onProgress: line,
      });
      if (lock?.signal.aborted) {
        const message = `stopped after ${result.replayed} of ${result.matched}: this run's lock on ${filter.handler} could not be renewed (NATS away past REPLAY_LOCK_TTL_MS); run it again to go on (the inbox skips what was done)`;
        req.log.warn({ filter: body, result }, message);
        line({ error: message });
      } else {
        req.log.info({ filter: body, result }, "bulk replay done");
        line({ result });
      }
    } catch (err) {
      req.log.error({ err, filter: body }, "bulk replay failed");
      line({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      await lock?.release();
      reply.raw.end();
    }
  }
}
