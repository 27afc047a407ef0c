import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * `/api/jobs` and `/api/jobs/:id`, forwarded to the fine-tune service's job API
 * (`/fine-tune-jobs*` at FINE_TUNE_URL): the console is served by the admin service, and
 * the browser reaches nothing but the admin service. The status and JSON body come back
 * as they are; the Authorization header goes along.
 */
export function registerJobsProxy(scope: FastifyInstance, fineTuneUrl: string): void {
  const base = fineTuneUrl.replace(/\/+$/, "");

  async function forward(req: FastifyRequest, reply: FastifyReply, path: string) {
    const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
    let res: Response;
    try {
      res = await fetch(`${base}${path}${query}`, {
        headers: {
          accept: "application/json",
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      return reply.code(502).send({
        error: "fine_tune_unreachable",
        message: `the fine-tune service does not answer at ${base} (${cause}); start it or set FINE_TUNE_URL on the admin service`,
      });
    }
    return reply
      .code(res.status)
      .header("content-type", res.headers.get("content-type") ?? "application/json")
      .send(await res.text());
  }

  scope.get("/api/jobs", (req, reply) => forward(req, reply, "/fine-tune-jobs"));
  scope.get<{ Params: { id: string } }>("/api/jobs/:id", (req, reply) =>
    forward(req, reply, `/fine-tune-jobs/${encodeURIComponent(req.params.id)}`),
  );
}
