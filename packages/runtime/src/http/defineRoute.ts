import { AdminError } from "@hookstream/contracts";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from "fastify";
import type { z } from "zod";
import { ADMIN_TOKEN_SCHEME } from "./openApi";

type Out<S> = S extends z.ZodType ? z.output<S> : unknown;

export interface RouteDefinition<
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
> {
  method: "GET" | "POST";
  url: string;
  /** one line: what the route does (the document's summary) */
  summary: string;
  description?: string;
  /** the group it is listed under in /openapi.json (`events`, `dlq`, …) */
  tags: string[];
  /** the admin check, run first; the document then says the route needs the admin token */
  auth?: onRequestAsyncHookHandler | preHandlerAsyncHookHandler | null;
  /** contracts' schemas of the route's input: validated before the handler runs */
  params?: P;
  query?: Q;
  body?: B;
  /** what a 200 answers (documentation: the handler's answer is sent as it is) */
  response?: z.ZodType;
  /** the 200's media type when it is not JSON (a stream of NDJSON lines, server-sent events, a page) */
  responseType?: "application/x-ndjson" | "text/event-stream" | "text/html";
  handler: (
    req: FastifyRequest<{ Params: Out<P>; Querystring: Out<Q>; Body: Out<B> }>,
    reply: FastifyReply,
  ) => unknown;
}

/** The answer as the handler made it: a response schema here documents, it does not serialize. */
const asIs = () => (data: unknown) => JSON.stringify(data);

/**
 * The one way a route is defined: its params, query and body are contracts' zod values,
 * which Fastify validates before the handler (a refusal is 400 `invalid_<parameter>`,
 * runtime's inputErrorOf) and @fastify/swagger lists in /openapi.json with the summary,
 * the 200's shape and, with `auth`, the admin token. A POST without a body is taken as
 * `{}` (a filter with every field left out).
 */
export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(app: FastifyInstance, def: RouteDefinition<P, Q, B>): void {
  const ok =
    def.responseType !== undefined
      ? {
          description: def.summary,
          content: { [def.responseType]: { schema: def.response ?? AdminError.shape.message } },
        }
      : (def.response ?? undefined);
  app.route({
    method: def.method,
    url: def.url,
    schema: {
      summary: def.summary,
      ...(def.description ? { description: def.description } : {}),
      tags: def.tags,
      ...(def.params ? { params: def.params } : {}),
      ...(def.query ? { querystring: def.query } : {}),
      ...(def.body ? { body: def.body } : {}),
      ...(def.auth ? { security: [{ [ADMIN_TOKEN_SCHEME]: [] }] } : {}),
      response: { ...(ok ? { 200: ok } : {}), "4xx": AdminError, "5xx": AdminError },
    },
    serializerCompiler: asIs,
    ...(def.auth ? { onRequest: def.auth as onRequestAsyncHookHandler } : {}),
    ...(def.body
      ? {
          preValidation: async (req: FastifyRequest) => {
            if (req.body === undefined || req.body === null) req.body = {};
          },
        }
      : {}),
    handler: def.handler as (req: FastifyRequest, reply: FastifyReply) => unknown,
  });
}
