import type { FastifyInstance, FastifySchema } from "fastify";
import { Gauge, type Registry } from "prom-client";

export interface HealthOptions {
  registry: Registry;
  /** resolves to null when ready, or to the reason it is not */
  readiness: () => Promise<string | null> | string | null;
  /**
   * what the service depends on, for `hookstream_dependency_up{dependency}`; default
   * `["nats"]`, and `postgres` joins as soon as a readiness reason names it
   */
  dependencies?: string[];
  /** a scrape waits at most this long for the readiness check (default 2 s) */
  readinessTimeoutMs?: number;
}

async function readinessReason(
  readiness: HealthOptions["readiness"],
  timeoutMs = Number.POSITIVE_INFINITY,
): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const check = Promise.resolve().then(readiness);
    if (!Number.isFinite(timeoutMs)) return await check;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`readiness check did not answer within ${timeoutMs} ms`), timeoutMs);
      timer.unref?.();
    });
    return await Promise.race([check, timeout]);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Which dependency a readiness reason blames (the reasons are written by the services' readiness checks). */
export function blamedDependency(reason: string): "postgres" | "nats" | null {
  if (/postgres|database/i.test(reason)) return "postgres";
  if (/nats|stream|jetstream|connection/i.test(reason)) return "nats";
  return null;
}

/**
 * `/healthz`, `/readyz` and `/metrics`, the three routes every service has (contract),
 * plus `hookstream_ready` and `hookstream_dependency_up{dependency}`, evaluated at
 * scrape time from the same readiness check, for the "unreachable" alerts.
 */
export function registerHealthRoutes(app: FastifyInstance, opts: HealthOptions): void {
  const { registry, readiness } = opts;
  registerReadinessGauges(registry, readiness, opts);

  // summary and tags are OpenAPI's words (the runtime's /openapi.json), not Fastify's own
  const doc = (summary: string) => ({ schema: { summary, tags: ["health"] } as FastifySchema });
  app.get("/healthz", doc("the process answers (liveness)"), async () => ({ status: "ok" }));
  app.get(
    "/readyz",
    doc("NATS, the streams and (with a database) Postgres answer; 503 with the reason else"),
    async (_req, reply) => {
      const reason = await readinessReason(readiness);
      if (reason === null) return { status: "ready" };
      return reply.code(503).send({ error: "not_ready", message: reason });
    },
  );
  app.get("/metrics", doc("Prometheus metrics (text exposition format)"), async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}

/** `hookstream_ready` and `hookstream_dependency_up`, once per registry. */
function registerReadinessGauges(
  registry: Registry,
  readiness: HealthOptions["readiness"],
  opts: Pick<HealthOptions, "dependencies" | "readinessTimeoutMs">,
): void {
  if (registry.getSingleMetric("hookstream_ready")) return;
  const dependencies = new Set(opts.dependencies ?? ["nats"]);
  // both gauges of one scrape share one check (prom-client collects them concurrently)
  let check: Promise<string | null> | null = null;
  const evaluate = () => {
    check ??= readinessReason(readiness, opts.readinessTimeoutMs ?? 2_000).finally(() => {
      setTimeout(() => {
        check = null;
      }, 250).unref?.();
    });
    return check;
  };
  new Gauge({
    name: "hookstream_ready",
    help: "1 when the service is ready (its /readyz answers 200), else 0",
    registers: [registry],
    async collect() {
      this.set((await evaluate()) === null ? 1 : 0);
    },
  });
  new Gauge({
    name: "hookstream_dependency_up",
    help: "1 when the dependency answers the service's readiness check, 0 when the check blames it",
    labelNames: ["dependency"] as const,
    registers: [registry],
    async collect() {
      const reason = await evaluate();
      const blamed = reason === null ? null : blamedDependency(reason);
      if (blamed) dependencies.add(blamed);
      for (const d of dependencies) this.set({ dependency: d }, d === blamed ? 0 : 1);
    },
  });
}
