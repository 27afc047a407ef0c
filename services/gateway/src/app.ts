import { isUtf8 } from "node:buffer";
import net from "node:net";
import {
  eventKey,
  idProblem,
  MessageHeader,
  OPENAI_PROVIDER,
  type Topology,
  WebhookEnvelope,
  WebhookHeaders,
  WebhookProjectParams,
  WebhookProviderParams,
} from "@hookstream/contracts";
import type { EventPublisher } from "@hookstream/messaging";
import { injectRequestTrace, type Registry, traceLogFields, traceRequests } from "@hookstream/observability";
import { createHttpApp, FailureLimiter } from "@hookstream/runtime";
import type { PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
} from "fastify";
import { effectiveBodyLimit, type GatewayConfig } from "./config";
import { countResponse, type GatewayMetrics, gatewayMetrics, typeLabel } from "./gatewayMetrics";
import { eventOf, openaiRoutes, type Provider, providerTable } from "./providers/index";
import { verifySignature } from "./verifySignature";

export interface GatewayDeps {
  config: Pick<
    GatewayConfig,
    | "OPENAI_WEBHOOK_SECRET"
    | "WEBHOOK_TOLERANCE_SEC"
    | "MAX_BODY_BYTES"
    | "PUBLISH_TIMEOUT_MS"
    | "RETRY_AFTER_SEC"
    | "AUTH_FAILURE_BURST"
    | "AUTH_FAILURES_PER_SEC"
    | "TRUST_PROXY"
  > &
    Partial<
      Pick<
        GatewayConfig,
        "WEBHOOK_PROVIDERS" | "OPENAI_PROJECTS" | "HTTP_REQUEST_TIMEOUT_MS" | "HTTP_CONNECTION_TIMEOUT_MS"
      >
    >;
  topology: Topology;
  /**
   * publishes an event and waits for JetStream's ack: the service's ackedPublisher
   * (messaging), or nats.js's JetStreamClient, which has the same shape
   */
  publisher: EventPublisher;
  logger: FastifyBaseLogger;
  registry: Registry;
  /** the server's max_payload, when connected (nc.info?.max_payload) */
  maxPayload?: number;
  /** false while NATS is known to be away: answer 503 at once instead of waiting */
  isConnected: () => boolean;
  /** null when ready, else why not (for /readyz) */
  readiness: () => Promise<string | null>;
  now?: () => number;
}

/** Answers a webhook request with an error, counted by status and code. */
function sendError(
  metrics: GatewayMetrics,
  reply: FastifyReply,
  code: number,
  error: string,
  message: string,
): FastifyReply {
  countResponse(metrics, code, error);
  return reply.code(code).send({ error, message });
}

/** Counts and logs a refused webhook request and answers with the error. */
function refuse(
  req: FastifyRequest,
  reply: FastifyReply,
  metrics: GatewayMetrics,
  code: number,
  error: string,
  message: string,
): FastifyReply {
  metrics.rejected.inc({ reason: error });
  req.log.info({ reason: error, status: code, ip: req.ip, ...traceLogFields(req) }, message);
  return sendError(metrics, reply, code, error, message);
}

function header(value: string | string[] | undefined): string | undefined {
  // a repeated header is ambiguous: treat it as missing rather than guess
  return typeof value === "string" ? value : undefined;
}

/**
 * The body as text, refusing bytes that are not UTF-8 and dropping a leading byte
 * order mark, as a fatal TextDecoder does — but with Buffer's native check and slice,
 * which skip the decoder's per-call setup (the gateway runs this on every request).
 */
export function utf8Text(body: Buffer): string {
  if (!isUtf8(body)) throw new TypeError("The encoded data was not valid for encoding utf-8");
  const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return body.toString("utf8", bom ? 3 : 0);
}

/** Builds the gateway; never listens (main.ts does). */
export function buildApp(deps: GatewayDeps): FastifyInstance {
  const { config, registry } = deps;
  const metrics = gatewayMetrics(registry);
  const bodyLimit = effectiveBodyLimit(config.MAX_BODY_BYTES, deps.maxPayload);

  const app = createHttpApp({
    logger: deps.logger,
    registry,
    readiness: deps.readiness,
    openapi: { title: "gateway" },
    bodyLimit,
    trustProxy: config.TRUST_PROXY,
    onErrorAnswer: countShellRejections(metrics),
    ...(config.HTTP_REQUEST_TIMEOUT_MS !== undefined
      ? { requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS }
      : {}),
    ...(config.HTTP_CONNECTION_TIMEOUT_MS !== undefined
      ? { connectionTimeoutMs: config.HTTP_CONNECTION_TIMEOUT_MS }
      : {}),
  });
  registerWebhookRoute(app, deps, metrics);
  return app;
}

/**
 * The route counts its own rejections and answers; these are Fastify's (size, media
 * type, framing, unknown routes) and unexpected errors.
 */
export function countShellRejections(metrics: GatewayMetrics) {
  return (statusCode: number, code: string, req: FastifyRequest) => {
    if (statusCode >= 400 && statusCode < 500 && statusCode !== 404) metrics.rejected.inc({ reason: code });
    if (req.url.startsWith("/webhooks/")) countResponse(metrics, statusCode, code);
  };
}

/**
 * `POST /webhooks/<provider>` on an app built by createHttpApp (`openai`, and the
 * WEBHOOK_PROVIDERS senders; another name answers 404): verify the signature over the
 * raw bytes with the provider's secrets, parse its envelope, publish to
 * `webhooks.<provider>.<type>` with the event id as msgID, answer 200 only after
 * JetStream's ack.
 */
export function registerWebhookRoute(
  app: FastifyInstance,
  deps: Omit<GatewayDeps, "readiness">,
  metrics: GatewayMetrics = gatewayMetrics(deps.registry),
): void {
  const { config, topology, publisher } = deps;
  const now = deps.now ?? Date.now;
  // `openai` (every project's keys) and every WEBHOOK_PROVIDERS sender, keys decoded once
  const openai = openaiRoutes(config, topology);
  const providers = providerTable(config, topology, openai);
  const limiter = new FailureLimiter(config.AUTH_FAILURE_BURST, config.AUTH_FAILURES_PER_SEC);
  // The line per accepted event holds only the fields written below (ids, type, project,
  // trace, sequence): nothing for the redaction's paths to find, and walking them on every
  // event was a tenth of the gateway's cost beyond its reference (BENCHMARKS.md, "Gateway").
  // Every other line keeps the logger's redaction.
  const eventLog = deps.logger.child({}, { redact: [] });
  // the trace of each webhook request (its traceparent goes into the published message)
  traceRequests(app, { prefix: "/webhooks/" });
  app.addHook("preClose", () => drainConnections(app));

  const rateLimited = (req: FastifyRequest, reply: FastifyReply) => {
    reply.header("retry-after", String(limiter.retryAfterSec()));
    return refuse(
      req,
      reply,
      metrics,
      429,
      "rate_limited",
      "too many requests with failed authentication from this address",
    );
  };
  // An address out of failures is answered before its body is read and its HMAC
  // computed: a flood costs a map lookup per request. While it is limited, a valid
  // request from it waits too (the sender retries after Retry-After); req.ip is the
  // client's only as far as TRUST_PROXY says (docs/security.md).
  // a callback hook, not an async one: no promise and no extra turn per request
  const limitFailures = (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (!limiter.isLimited(req.ip, now())) return done();
    metrics.received.inc();
    rateLimited(req, reply);
  };

  // Replaces the built-in JSON parser: the signature is over the exact bytes received.
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // One static route per provider and per OpenAI project (a static match is cheaper than
  // a parameter's), and the parametric ones answering 404 for any other name. `fixed` is
  // the route's provider: for a pinned URL, OpenAI with that one project's keys.
  const webhook =
    (fixed: Provider | undefined) =>
    async (req: FastifyRequest<{ Params: { provider?: string; project?: string } }>, reply: FastifyReply) => {
      metrics.received.inc();
      const pinned = req.params.project;
      const provider = fixed ?? (pinned === undefined ? providers.get(req.params.provider ?? "") : undefined);
      if (provider === undefined && pinned !== undefined) {
        return refuse(
          req,
          reply,
          metrics,
          404,
          "unknown_project",
          `no OpenAI project named "${pinned}" (OPENAI_PROJECTS)`,
        );
      }
      if (provider === undefined) {
        return refuse(
          req,
          reply,
          metrics,
          404,
          "unknown_provider",
          `no webhook provider named "${req.params.provider}"`,
        );
      }

      const body = req.body;
      if (!Buffer.isBuffer(body)) {
        return refuse(
          req,
          reply,
          metrics,
          415,
          "unsupported_media_type",
          "content-type must be application/json with a body",
        );
      }

      const verified = verifySignature({
        keys: provider.keys,
        webhookId: header(req.headers["webhook-id"]),
        timestamp: header(req.headers["webhook-timestamp"]),
        signatureHeader: header(req.headers["webhook-signature"]),
        body,
        nowMs: now(),
        toleranceSec: provider.toleranceSec,
      });
      if (!verified.ok) {
        if (!limiter.allowFailure(req.ip, now())) return rateLimited(req, reply);
        return refuse(req, reply, metrics, 401, verified.reason, verified.message);
      }

      let parsed: unknown;
      try {
        parsed = JSON.parse(utf8Text(body));
      } catch (err) {
        return refuse(
          req,
          reply,
          metrics,
          400,
          "malformed_json",
          `the body is not valid UTF-8 JSON: ${(err as Error).message}`,
        );
      }
      // the provider's envelope gives the dedup id and the type (providers/eventOf.ts)
      const event = eventOf(provider, parsed, header(req.headers["webhook-id"]) ?? "");
      if (!event.ok) return refuse(req, reply, metrics, 400, "invalid_envelope", event.message);
      // each id becomes a key (Nats-Msg-Id, the audit's unique index) or a subject token
      const bad = badId(header(req.headers["webhook-id"]) ?? "", event.id, event.resourceId);
      if (bad) return refuse(req, reply, metrics, 400, bad.code, bad.message);
      // the OpenAI project whose secret verified it (undefined for another provider)
      const project = provider.keyProjects?.[verified.key];
      // the event's fields go on each line written, not on a child logger made for every
      // request (a child logger per request was the gateway's largest cost the reference
      // does not pay: BENCHMARKS.md)
      const fields = { event_id: event.id, event_type: event.type, project, ...traceLogFields(req) };

      if (!deps.isConnected()) {
        metrics.rejected.inc({ reason: "unavailable" });
        req.log.warn(fields, "NATS is disconnected; asking the sender to retry");
        reply.header("retry-after", String(config.RETRY_AFTER_SEC));
        return sendError(metrics, reply, 503, "unavailable", "the event log is unavailable; retry later");
      }

      // a fresh header set: append, not set (set first searches for the key to replace)
      const h = natsHeaders();
      h.append(MessageHeader.WebhookId, header(req.headers["webhook-id"]) ?? "");
      h.append(MessageHeader.WebhookTimestamp, header(req.headers["webhook-timestamp"]) ?? "");
      h.append(MessageHeader.WebhookSignature, header(req.headers["webhook-signature"]) ?? "");
      h.append(MessageHeader.EventType, event.type);
      h.append(MessageHeader.ReceivedAt, new Date(now()).toISOString());
      if (project !== undefined) h.append(MessageHeader.OpenaiProject, project);
      injectRequestTrace(req, h);

      const started = performance.now();
      let ack: PubAck;
      try {
        // bounded by the client's request timeout, whose timer starts with the request even
        // while a reconnect buffers it (natsOutage.int.spec.ts)
        ack = await publisher.publish(provider.subjectPrefix + event.type, body, {
          msgID: eventKey(provider.name, event.id),
          headers: h,
          timeout: config.PUBLISH_TIMEOUT_MS,
        });
      } catch (err) {
        metrics.rejected.inc({ reason: "unavailable" });
        req.log.warn({ ...fields, err }, "JetStream did not acknowledge; asking the sender to retry");
        reply.header("retry-after", String(config.RETRY_AFTER_SEC));
        return sendError(
          metrics,
          reply,
          503,
          "unavailable",
          "the event log did not acknowledge in time; retry later",
        );
      }
      metrics.publishSeconds.observe((performance.now() - started) / 1000);
      if (ack.duplicate) metrics.duplicates.inc();
      else metrics.published.inc({ type: typeLabel(provider.name, event.type), project: project ?? "" });
      eventLog.info(
        { ...fields, seq: ack.seq, duplicate: ack.duplicate },
        ack.duplicate ? "duplicate event" : "event accepted",
      );
      const status = ack.duplicate ? "duplicate" : "accepted";
      countResponse(metrics, 200, status);
      return { status, event_id: event.id, seq: ack.seq };
    };
  // each route's options: the 200's serializer, and what /openapi.json says of it (the
  // signature headers and the envelope are read by the handler itself, after the
  // failure limit: documented, not validated by Fastify)
  const options = (summary: string, params?: FastifySchema["params"]) => ({
    schema: {
      ...ACCEPTED_SCHEMA.schema,
      summary,
      tags: ["webhooks"],
      ...(params ? { params } : {}),
    } as FastifySchema,
    config: { openapi: { headers: WebhookHeaders, body: WebhookEnvelope } },
    onRequest: limitFailures,
  });
  type Route = { Params: { provider?: string; project?: string } };
  for (const provider of providers.values()) {
    app.post<Route>(
      `/webhooks/${encodeURIComponent(provider.name)}`,
      options(`a webhook of ${provider.name}: 200 once JetStream stored it`),
      webhook(provider),
    );
  }
  app.post<Route>(
    "/webhooks/:provider",
    options("a webhook of a provider not configured: 404 unknown_provider", WebhookProviderParams),
    webhook(undefined),
  );
  for (const [name, pinned] of openai.byProject) {
    app.post<Route>(
      `/webhooks/${OPENAI_PROVIDER}/${encodeURIComponent(name)}`,
      options(`an OpenAI webhook checked with project ${name}'s secrets only`),
      webhook(pinned),
    );
  }
  app.post<Route>(
    `/webhooks/${OPENAI_PROVIDER}/:project`,
    options("an OpenAI webhook for a project not configured: 404 unknown_project", WebhookProjectParams),
    webhook(undefined),
  );
}

/**
 * The first of an event's ids that is too long or not one subject token (contracts'
 * idProblem), as the answer's code and message; null when all are ids.
 */
function badId(
  webhookId: string,
  eventId: string,
  resourceId: string | null,
): { code: string; message: string } | null {
  const ids: Array<[string, string | null]> = [
    ["webhook-id", webhookId],
    ["the event id", eventId],
    ["the resource id (data.id)", resourceId],
  ];
  for (const [name, value] of ids) {
    const problem = value === null ? null : idProblem(value);
    if (problem) return { code: problem.code, message: `${name} ${problem.why}` };
  }
  return null;
}

/** The 200 answer's shape: Fastify compiles a serializer for it instead of JSON.stringify. */
const ACCEPTED_SCHEMA = {
  schema: {
    response: {
      200: {
        type: "object",
        properties: {
          status: { type: "string" },
          event_id: { type: "string" },
          seq: { type: "integer" },
        },
        required: ["status", "event_id", "seq"],
      },
    },
  },
} as const;

/**
 * Longest wait on close for open connections to end by themselves. A busy connection
 * ends after its next answer (fastify adds `Connection: close` while closing); only a
 * connection idle all this time is then closed under a client that might reuse it.
 */
export const DRAIN_CONNECTIONS_MS = 2_000;

/**
 * On close, before fastify's `server.close()`: stop accepting connections (a refused
 * connection carries no request; the sender retries, as after a 503) but do not close
 * the idle keep-alive ones at once, as Node's `http.Server.close()` does: a request
 * sent on one at that instant was cut mid-flight (issue 8, defect 9: SIGTERM under
 * load). Wait until every connection has ended, at most DRAIN_CONNECTIONS_MS.
 */
async function drainConnections(app: FastifyInstance): Promise<void> {
  const server = app.server;
  if (!server.listening) return;
  // net.Server's close only stops listening; fastify's http close then reaps the rest
  net.Server.prototype.close.call(server);
  const open = () => new Promise<number>((resolve) => server.getConnections((_err, n) => resolve(n ?? 0)));
  const deadline = Date.now() + DRAIN_CONNECTIONS_MS;
  while (Date.now() < deadline && (await open()) > 0) await new Promise((r) => setTimeout(r, 25));
}
