import {
  FineTuneJobDetail,
  type FineTuneJobHistoryEntry,
  FineTuneJobPage,
  JobIdParams,
  JobListQuery,
  jobSubject,
  type Topology,
} from "@hookstream/contracts";
import type { Registry } from "@hookstream/observability";
import { adminAuth, adminTokens, createHttpApp, defineRoute } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, preHandlerAsyncHookHandler } from "fastify";
import { getJob, listJobs } from "./listJobs";
import { parseSnapshot } from "./parseSnapshot";
import { readStream } from "./readStream";
import { type RebuildProgress, type RebuildResult, RebuildRunningError } from "./rebuildProjection";

export interface FineTuneRouteDeps {
  orm: MikroORM;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  /** the runtime's admin check: always on /admin/rebuild, on the job API unless it is public */
  requireAdmin: preHandlerAsyncHookHandler;
  /** FINE_TUNE_API_PUBLIC: the job API answers without a token */
  jobApiPublic: boolean;
  /** rebuilds the projection; progress goes to the callback */
  rebuild: (onProgress: (p: RebuildProgress) => void) => Promise<RebuildResult>;
}

export interface FineTuneAppDeps extends Omit<FineTuneRouteDeps, "requireAdmin" | "jobApiPublic"> {
  logger: FastifyBaseLogger;
  registry: Registry;
  readiness: () => Promise<string | null>;
  adminToken?: string;
  jobApiPublic?: boolean;
}

function sendError(reply: FastifyReply, code: number, error: string, message: string) {
  return reply.code(code).send({ error, message });
}

/** The fine-tune app on its own (the runtime builds it for the running service). */
export function buildApp(deps: FineTuneAppDeps): FastifyInstance {
  const app = createHttpApp({
    logger: deps.logger,
    registry: deps.registry,
    readiness: deps.readiness,
    openapi: { title: "fine-tune" },
  });
  const requireAdmin = adminAuth({
    tokens: adminTokens({ ADMIN_TOKEN: deps.adminToken }),
    failureBurst: 20,
    failuresPerSec: 1,
  });
  registerJobRoutes(app, { ...deps, requireAdmin, jobApiPublic: deps.jobApiPublic ?? false });
  return app;
}

/**
 * The job query API (list with filters and cursor, one job with its history from the
 * stream) and the admin rebuild route, on the runtime's HTTP shell.
 */
export function registerJobRoutes(app: FastifyInstance, deps: FineTuneRouteDeps): void {
  registerJobQueries(app, deps, deps.jobApiPublic ? null : deps.requireAdmin);
  registerRebuild(app, deps);
}

function registerJobQueries(
  app: FastifyInstance,
  deps: FineTuneRouteDeps,
  auth: preHandlerAsyncHookHandler | null,
): void {
  const { orm, js, jsm, topology } = deps;
  defineRoute(app, {
    method: "GET",
    url: "/fine-tune-jobs",
    summary: "the fine_tune_jobs projection, newest first, keyset-paginated (next_cursor)",
    tags: ["jobs"],
    auth,
    query: JobListQuery,
    response: FineTuneJobPage,
    handler: async (req) => listJobs(orm.em.fork(), req.query),
  });

  defineRoute(app, {
    method: "GET",
    url: "/fine-tune-jobs/:id",
    summary: "one job with every snapshot of it in FINE_TUNING, oldest first",
    tags: ["jobs"],
    auth,
    params: JobIdParams,
    response: FineTuneJobDetail,
    handler: async (req, reply) => {
      const { id } = req.params;
      const job = await getJob(orm.em.fork(), id);
      if (!job) return sendError(reply, 404, "not_found", `no fine-tuning job ${id}`);
      const subject = jobSubject(topology, id);
      const info = await jsm.streams.info(topology.streams.fineTuning, { subjects_filter: subject });
      const history: FineTuneJobHistoryEntry[] = [];
      if ((info.state.subjects?.[subject] ?? 0) > 0) {
        await readStream(
          js,
          topology.streams.fineTuning,
          { fromSeq: info.state.first_seq, toSeq: info.state.last_seq, filterSubject: subject },
          (msg) => {
            const s = parseSnapshot(msg);
            if (s)
              history.push({
                seq: s.seq,
                event_id: s.snapshot.event_id,
                event_type: s.snapshot.event_type,
                event_created_at: s.snapshot.event_created_at,
                source: s.snapshot.source,
                status: s.snapshot.job.status,
              });
          },
        );
      }
      return { ...job, history } satisfies FineTuneJobDetail;
    },
  });
}

function registerRebuild(app: FastifyInstance, deps: FineTuneRouteDeps): void {
  let rebuilding = false;
  defineRoute(app, {
    method: "POST",
    url: "/admin/rebuild",
    summary: "rebuild the projection from FINE_TUNING; one at a time across instances (409 rebuild_running)",
    description:
      "The answer is NDJSON: progress lines, then { result } or { error }; it starts once the rebuild holds its lock.",
    tags: ["jobs"],
    auth: deps.requireAdmin,
    responseType: "application/x-ndjson",
    handler: async (req, reply) => {
      if (rebuilding) {
        const busy = new RebuildRunningError();
        return sendError(reply, 409, busy.code, busy.message);
      }
      rebuilding = true;
      // progress is streamed as one JSON object per line, so the CLI can show it live; the
      // 200 starts with the first progress line, once the rebuild holds its lock across instances
      let streaming = false;
      const startStream = () => {
        if (streaming) return;
        streaming = true;
        reply.hijack();
        reply.raw.writeHead(200, { "content-type": "application/x-ndjson" });
      };
      try {
        const result = await deps.rebuild((p) => {
          startStream();
          reply.raw.write(`${JSON.stringify(p)}\n`);
        });
        startStream();
        reply.raw.write(`${JSON.stringify({ result })}\n`);
      } catch (err) {
        if (!streaming && err instanceof RebuildRunningError)
          return sendError(reply, 409, err.code, err.message);
        req.log.error({ err }, "rebuild failed");
        startStream();
        reply.raw.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
      } finally {
        rebuilding = false;
        if (streaming) reply.raw.end();
      }
    },
  });
}
