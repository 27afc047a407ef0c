import type { FastifyInstance, FastifyRequest } from "fastify";
import { forwardJson } from "./forwardJson";

/**
 * `/api/jobs` and `/api/jobs/:id`, forwarded to the fine-tune service's job API
 * (`/fine-tune-jobs*` at FINE_TUNE_URL), query string included.
 */
export function registerJobsProxy(scope: FastifyInstance, fineTuneUrl: string): void {
  const base = fineTuneUrl.replace(/\/+$/, "");
  const unreachable = { error: "fine_tune_unreachable", service: "fine-tune", variable: "FINE_TUNE_URL" };
  const query = (req: FastifyRequest) => (req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "");

  scope.get("/api/jobs", (req, reply) =>
    forwardJson(req, reply, { base, path: `/fine-tune-jobs${query(req)}`, method: "GET", unreachable }),
  );
  scope.get<{ Params: { id: string } }>("/api/jobs/:id", (req, reply) =>
    forwardJson(req, reply, {
      base,
      path: `/fine-tune-jobs/${encodeURIComponent(req.params.id)}${query(req)}`,
      method: "GET",
      unreachable,
    }),
  );
}
