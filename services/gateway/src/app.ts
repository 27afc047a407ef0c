import { eventSubject, MessageHeader, OpenAIEvent, type Topology } from "@hookstream/contracts";
import { type Registry, registerHealthRoutes } from "@hookstream/observability";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from "fastify";
import { effectiveBodyLimit, type GatewayConfig } from "./config";
import { FailureLimiter } from "./failureLimiter";
import { gatewayMetrics } from "./gatewayMetrics";
import { decodeSecrets, verifySignature } from "./verifySignature";

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
  >;
  topology: Topology;
  js: JetStreamClient;
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

export class PublishTimeoutError extends Error {
  override readonly name = "PublishTimeoutError";
}

function sendError(reply: FastifyReply, code: number, error: string, message: string): FastifyReply {
  return reply.code(code).send({ error, message });
}

function header(value: string | string[] | undefined): string | undefined {
  // a repeated header is ambiguous: treat it as missing rather than guess
  return typeof value === "string" ? value : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Builds the gateway; never listens (main.ts does). */
export function buildApp(deps: GatewayDeps): FastifyInstance {
  const { config, topology, js, registry } = deps;
  const now = deps.now ?? Date.now;
  const keys = decodeSecrets(config.OPENAI_WEBHOOK_SECRET);
  const limiter = new FailureLimiter(config.AUTH_FAILURE_BURST, config.AUTH_FAILURES_PER_SEC);
  const metrics = gatewayMetrics(registry);
  const bodyLimit = effectiveBodyLimit(config.MAX_BODY_BYTES, deps.maxPayload);

  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit,
    trustProxy: config.TRUST_PROXY,
    // one log line per event is written by the route itself, with the event id and type
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  // Replaces the built-in JSON parser: the signature is over the exact bytes received.
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, "not_found", `no route ${req.method} ${req.url}`),
  );
  app.setErrorHandler((err: FastifyError, req, reply) => {
    switch (err.code) {
      case "FST_ERR_CTP_BODY_TOO_LARGE":
        metrics.rejected.inc({ reason: "body_too_large" });
        return sendError(reply, 413, "body_too_large", `the body is over the limit of ${bodyLimit} bytes`);
      case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
        if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
          metrics.rejected.inc({ reason: "unsupported_media_type" });
          return sendError(reply, 415, "unsupported_media_type", "content-type must be application/json");
        }
        metrics.rejected.inc({ reason: "bad_request" });
        return sendError(reply, 400, "bad_request", err.message);
      default:
        if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
          metrics.rejected.inc({ reason: "bad_request" });
          return sendError(reply, err.statusCode, "bad_request", err.message);
        }
        req.log.error({ err }, "unexpected error");
        return sendError(reply, 500, "internal_error", "unexpected error; the event was not accepted");
    }
  });

  registerHealthRoutes(app, { registry, readiness: deps.readiness });

  app.post("/webhooks/openai", async (req, reply) => {
    metrics.received.inc();
    const reject = (code: number, error: string, message: string) => {
      metrics.rejected.inc({ reason: error });
      req.log.info({ reason: error, status: code, ip: req.ip }, message);
      return sendError(reply, code, error, message);
    };

    const body = req.body;
    if (!Buffer.isBuffer(body)) {
      return reject(415, "unsupported_media_type", "content-type must be application/json with a body");
    }

    const verified = verifySignature({
      keys,
      webhookId: header(req.headers["webhook-id"]),
      timestamp: header(req.headers["webhook-timestamp"]),
      signatureHeader: header(req.headers["webhook-signature"]),
      body,
      nowMs: now(),
      toleranceSec: config.WEBHOOK_TOLERANCE_SEC,
    });
    if (!verified.ok) {
      if (!limiter.allowFailure(req.ip, now())) {
        reply.header("retry-after", String(limiter.retryAfterSec()));
        return reject(429, "rate_limited", "too many requests with failed authentication from this address");
      }
      return reject(401, verified.reason, verified.message);
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(body));
    } catch (err) {
      return reject(400, "malformed_json", `the body is not valid UTF-8 JSON: ${(err as Error).message}`);
    }
    const envelope = OpenAIEvent.safeParse(parsed);
    if (!envelope.success) {
      const issues = envelope.error.issues
        .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
        .join("; ");
      return reject(400, "invalid_envelope", `the body is not an OpenAI event: ${issues}`);
    }
    const event = envelope.data;
    const log = req.log.child({ event_id: event.id, event_type: event.type });

    if (!deps.isConnected()) {
      metrics.rejected.inc({ reason: "unavailable" });
      log.warn("NATS is disconnected; asking the sender to retry");
      reply.header("retry-after", String(config.RETRY_AFTER_SEC));
      return sendError(reply, 503, "unavailable", "the event log is unavailable; retry later");
    }

    const h = natsHeaders();
    h.set(MessageHeader.WebhookId, header(req.headers["webhook-id"]) ?? "");
    h.set(MessageHeader.WebhookTimestamp, header(req.headers["webhook-timestamp"]) ?? "");
    h.set(MessageHeader.WebhookSignature, header(req.headers["webhook-signature"]) ?? "");
    h.set(MessageHeader.EventType, event.type);
    h.set(MessageHeader.ReceivedAt, new Date(now()).toISOString());

    const started = performance.now();
    let ack: PubAck;
    try {
      ack = await publishWithin(
        js.publish(eventSubject(topology, event.type), body, {
          msgID: event.id,
          headers: h,
          timeout: config.PUBLISH_TIMEOUT_MS,
        }),
        config.PUBLISH_TIMEOUT_MS,
      );
    } catch (err) {
      metrics.rejected.inc({ reason: "unavailable" });
      log.warn({ err }, "JetStream did not acknowledge; asking the sender to retry");
      reply.header("retry-after", String(config.RETRY_AFTER_SEC));
      return sendError(reply, 503, "unavailable", "the event log did not acknowledge in time; retry later");
    }
    metrics.publishSeconds.observe((performance.now() - started) / 1000);
    if (ack.duplicate) metrics.duplicates.inc();
    else metrics.published.inc({ type: event.type });
    log.info(
      { seq: ack.seq, duplicate: ack.duplicate },
      ack.duplicate ? "duplicate event" : "event accepted",
    );
    return { status: ack.duplicate ? "duplicate" : "accepted", event_id: event.id, seq: ack.seq };
  });

  return app;
}

/** The client has its own timeout; this bound holds even if a reconnect buffers the request. */
function publishWithin(p: Promise<PubAck>, ms: number): Promise<PubAck> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishTimeoutError(`no JetStream ack within ${ms} ms`)), ms + 50);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
