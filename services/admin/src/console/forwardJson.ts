import type { FastifyReply, FastifyRequest } from "fastify";

export interface ForwardTarget {
  /** the other service's base URL, without a trailing slash */
  base: string;
  /** the path there, query included */
  path: string;
  method: "GET" | "POST";
  /** a JSON body, already validated (POST) */
  body?: unknown;
  /** the answer when the other service does not answer at all: `<service>_unreachable` */
  unreachable: { error: string; service: string; variable: string };
}

/**
 * Forwards one console request to another service's API and sends its answer back as it
 * is (status and JSON body): the console is served by the admin service, and the browser
 * reaches nothing but the admin service. The Authorization header goes along, so the other
 * service checks the same admin token; no other header does.
 */
export async function forwardJson(
  req: FastifyRequest,
  reply: FastifyReply,
  target: ForwardTarget,
): Promise<FastifyReply> {
  let res: Response;
  try {
    res = await fetch(`${target.base}${target.path}`, {
      method: target.method,
      headers: {
        accept: "application/json",
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        ...(target.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: target.body === undefined ? undefined : JSON.stringify(target.body),
      redirect: "manual",
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return reply.code(502).send({
      error: target.unreachable.error,
      message: `the ${target.unreachable.service} service does not answer at ${target.base} (${cause}); start it or set ${target.unreachable.variable} on the admin service`,
    });
  }
  return reply
    .code(res.status)
    .header("content-type", res.headers.get("content-type") ?? "application/json")
    .send(await res.text());
}
