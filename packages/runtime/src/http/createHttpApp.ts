import http from "node:http";
import {
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type TrustProxy,
} from "@hookstream/config";
import { type Registry, registerHealthRoutes } from "@hookstream/observability";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { HttpError, RateLimitedError, UnavailableError } from "./httpErrors";
import { type OpenApiOptions, registerOpenApi } from "./openApi";
import { inputErrorOf } from "./validate";

export interface HttpAppOptions {
  logger: FastifyBaseLogger;
  registry: Registry;
  /** null when ready, else the reason (`/readyz`, `hookstream_ready`) */
  readiness: () => Promise<string | null>;
  /** what the service depends on, for `hookstream_dependency_up` */
  dependencies?: string[];
  bodyLimit?: number;
  trustProxy?: TrustProxy;
  /** a request's headers and body must arrive within this, else 408 and close (0 = off) */
  requestTimeoutMs?: number;
  /** a connection idle this long is closed (0 = off) */
  connectionTimeoutMs?: number;
  /** told about every error answer (the gateway counts rejections by reason) */
  onErrorAnswer?: (statusCode: number, code: string, req: FastifyRequest) => void;
  /** how /openapi.json names the service (default: `hookstream service`) */
  openapi?: OpenApiOptions;
}

/**
 * TRUST_PROXY as Fastify takes it. A number of hops becomes a function of the hop:
 * Fastify reads a bare number as "trust nothing" (a hop count cannot tell a proxy from
 * a client that connects directly, so prefer addresses/CIDRs when clients can).
 */
export function fastifyTrustProxy(
  tp: TrustProxy,
): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof tp === "number") return tp === 0 ? false : (_address, hop) => hop < tp;
  return tp;
}

/** How often Node looks for requests past their timeout: a quarter of it, between 0.25 s and 30 s. */
export function checkingIntervalOf(requestTimeoutMs: number): number {
  if (requestTimeoutMs <= 0) return 30_000;
  return Math.min(30_000, Math.max(250, Math.floor(requestTimeoutMs / 4)));
}

export function sendError(reply: FastifyReply, statusCode: number, error: string, message: string) {
  return reply.code(statusCode).send({ error, message });
}

/** Fastify's own client errors, by code: the status and the `error` code we answer with. */
const FASTIFY_CLIENT_ERRORS: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "body_too_large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, "unsupported_media_type"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, "bad_request"],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "bad_request"],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "malformed_json"],
};

/**
 * The one HTTP shell of every service: Fastify with the service's pino logger, no
 * per-request log lines (routes log what matters, with event ids), `/healthz`
 * `/readyz` `/metrics`, `/openapi.json` (every route with its parameters, from the same
 * zod schemas Fastify validates each request with: registerOpenApi, defineRoute), a JSON
 * 404, and one error handler that answers coded errors (HttpError), refused input (400
 * `invalid_<parameter>`) and Fastify's client errors as `{ error, message }` and logs the
 * rest as 500s. Never listens: runServiceMain does.
 */
export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const connectionTimeoutMs = opts.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // While closing, a request that still arrives on an open keep-alive connection is
    // served as usual (NATS and Postgres are still up: the HTTP step closes first), not
    // answered by Fastify's own 503 whose body is not ours and has no Retry-After.
    return503OnClosing: false,
    // no child logger per request (Fastify's default binds a request id nobody reads):
    // routes put the fields that matter (event id, type, trace id) on the lines they write
    childLoggerFactory: (logger) => logger,
    ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
    ...(opts.trustProxy !== undefined ? { trustProxy: fastifyTrustProxy(opts.trustProxy) } : {}),
    // Fastify leaves both off (0): a sender that stops mid-body would hold its socket
    // for good. docs/configuration.md, "HTTP timeouts". Reported by initialConfig; the
    // server below applies them.
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    serverFactory: (handler) => {
      // Node reads the request timeout and how often to look for requests past it only
      // when the server is constructed (set later, a stalled body was closed after 60 s,
      // not 1 s). It looks every 30 s by default, so a 30 s timeout would close after up
      // to 60 s: it looks at a quarter of the timeout instead.
      const server = http.createServer(
        {
          requestTimeout: requestTimeoutMs,
          connectionsCheckingInterval: checkingIntervalOf(requestTimeoutMs),
          // Fastify's own default: longer than the usual load balancer's 60 s idle timeout
          keepAliveTimeout: 72_000,
        },
        handler,
      );
      server.setTimeout(connectionTimeoutMs);
      return server;
    },
  });
  const clientErrorMessage = (code: string, message: string) => {
    if (code === "body_too_large")
      return `the body is over the limit of ${app.initialConfig.bodyLimit} bytes`;
    if (code === "unsupported_media_type") return "content-type must be application/json";
    return message;
  };
  const answer = (
    req: FastifyRequest,
    reply: FastifyReply,
    statusCode: number,
    code: string,
    message: string,
  ) => {
    opts.onErrorAnswer?.(statusCode, code, req);
    return sendError(reply, statusCode, code, message);
  };

  // first: its onRoute hook must see every route, the health routes included
  registerOpenApi(app, opts.openapi ?? { title: "service" });
  app.setNotFoundHandler((req, reply) =>
    answer(req, reply, 404, "not_found", `no route ${req.method} ${req.url}`),
  );
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) {
      if (err instanceof RateLimitedError) reply.header("retry-after", String(err.retryAfterSec));
      if (err instanceof UnavailableError && err.retryAfterSec !== undefined) {
        reply.header("retry-after", String(err.retryAfterSec));
      }
      return answer(req, reply, err.statusCode, err.code, err.message);
    }
    const input = inputErrorOf(err);
    if (input) return answer(req, reply, input.statusCode, input.code, input.message);
    const known = "code" in err && typeof err.code === "string" ? FASTIFY_CLIENT_ERRORS[err.code] : undefined;
    if (known) return answer(req, reply, known[0], known[1], clientErrorMessage(known[1], err.message));
    const status = "statusCode" in err ? err.statusCode : undefined;
    if (status && status >= 400 && status < 500)
      return answer(req, reply, status, "bad_request", err.message);
    req.log.error({ err }, "unexpected error");
    return answer(req, reply, 500, "internal_error", "unexpected error");
  });
  registerHealthRoutes(app, {
    registry: opts.registry,
    readiness: opts.readiness,
    ...(opts.dependencies ? { dependencies: opts.dependencies } : {}),
  });
  return app;
}
