import { jobSubject, type Topology } from "@hookstream/contracts";
import { type Registry, registerHealthRoutes } from "@hookstream/observability";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from "fastify";
import { BadCursorError, getJob, ListQuery, listJobs } from "./listJobs";
import { parseSnapshot } from "./parseSnapshot";
import { readStream } from "./readStream";
import { type RebuildProgress, type RebuildResult, RebuildRunningError } from "./rebuildProjection";

export interface FineTuneAppDeps {
  orm: MikroORM;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  logger: FastifyBaseLogger;
  registry: Registry;
  readiness: () => Promise<string | null>;
  adminToken?: string;
  /** rebuilds the projection; progress goes to the callback */
  rebuild: (onProgress: (p: RebuildProgress) => void) => Promise<RebuildResult>;
}

/** A job id is one subject token (`fine_tuning.jobs.<id>`): no dots, spaces or wildcards. */
const JOB_ID = /^[A-Za-z0-9_-]{1,200}$/;

function sendError(reply: FastifyReply, code: number, error: string, message: string) {
  return reply.code(code).send({ error, message });
}

/** The job query API: list with filters and cursor, one job with its history from the stream. */
export function buildApp(deps: FineTuneAppDeps): FastifyInstance {
  const { orm, js, jsm, topology } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, "not_found", `no route ${req.method} ${req.url}`),
  );
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof BadCursorError) return sendError(reply, 400, "bad_request", err.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return sendError(reply, status, "bad_request", (err as Error).message);
    req.log.error({ err }, "unexpected error");
    return sendError(reply, 500, "internal_error", "unexpected error");
  });
  registerHealthRoutes(app, { registry: deps.registry, readiness: deps.readiness });

  app.get("/fine-tune-jobs", async (req, reply) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success) {
      return sendError(
        reply,
        400,
        "bad_request",
        q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
      );
    }
    return listJobs(orm.em.fork(), q.data);
  });

  app.get<{ Params: { id: string } }>("/fine-tune-jobs/:id", async (req, reply) => {
    const { id } = req.params;
    if (!JOB_ID.test(id))
      return sendError(reply, 400, "bad_request", "a job id holds only letters, digits, '_' and '-'");
    const job = await getJob(orm.em.fork(), id);
    if (!job) return sendError(reply, 404, "not_found", `no fine-tuning job ${id}`);
    const subject = jobSubject(topology, id);
    const info = await jsm.streams.info(topology.streams.fineTuning, { subjects_filter: subject });
    const history: unknown[] = [];
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
    return { ...job, history };
  });

  let rebuilding = false;
  app.post("/admin/rebuild", async (req, reply) => {
    if (!deps.adminToken)
      return sendError(reply, 503, "admin_disabled", "set ADMIN_TOKEN to enable the admin routes");
    if (req.headers.authorization !== `Bearer ${deps.adminToken}`) {
      return sendError(reply, 401, "unauthorized", "a bearer token (ADMIN_TOKEN) is required");
    }
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
  });

  return app;
}
