import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface HealthOptions {
  registry: Registry;
  /** resolves to null when ready, or to the reason it is not */
  readiness: () => Promise<string | null> | string | null;
}

/** `/healthz`, `/readyz` and `/metrics`, the three routes every service has (contract). */
export function registerHealthRoutes(app: FastifyInstance, { registry, readiness }: HealthOptions): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    let reason: string | null;
    try {
      reason = await readiness();
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (reason === null) return { status: "ready" };
    return reply.code(503).send({ error: "not_ready", message: reason });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}
