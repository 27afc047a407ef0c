import { FineTuneJobDetail, FineTuneJobPage, JobIdParams, JobListQuery } from "@hookstream/contracts";
import { defineRoute } from "@hookstream/runtime";
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { forwardJson } from "./forwardJson";

/**
 * `/api/jobs` and `/api/jobs/:id`, forwarded to the fine-tune service's job API
 * (`/fine-tune-jobs*` at FINE_TUNE_URL), query string included. The query and the id
 * are checked with the job API's own schemas first, so a bad one is answered here.
 */
export function registerJobsProxy(
  scope: FastifyInstance,
  fineTuneUrl: string,
  auth: preHandlerAsyncHookHandler,
): void {
  const base = fineTuneUrl.replace(/\/+$/, "");
  const unreachable = { error: "fine_tune_unreachable", service: "fine-tune", variable: "FINE_TUNE_URL" };
  const query = (req: FastifyRequest) => (req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "");

  defineRoute(scope, {
    method: "GET",
    url: "/api/jobs",
    summary: "the fine-tune service's job list (GET /fine-tune-jobs at FINE_TUNE_URL), for the console",
    tags: ["console"],
    auth,
    query: JobListQuery,
    response: FineTuneJobPage,
    handler: (req, reply) =>
      forwardJson(req, reply, { base, path: `/fine-tune-jobs${query(req)}`, method: "GET", unreachable }),
  });
  defineRoute(scope, {
    method: "GET",
    url: "/api/jobs/:id",
    summary: "one job with its snapshot history (GET /fine-tune-jobs/:id at FINE_TUNE_URL), for the console",
    tags: ["console"],
    auth,
    params: JobIdParams,
    response: FineTuneJobDetail,
    handler: (req, reply) =>
      forwardJson(req, reply, {
        base,
        path: `/fine-tune-jobs/${encodeURIComponent(req.params.id)}${query(req)}`,
        method: "GET",
        unreachable,
      }),
  });
}
