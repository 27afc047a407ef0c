import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from "@hookstream/observability";
import type { FastifyReply, FastifyRequest } from "fastify";

export function gatewayMetrics(registry: Registry) {
  return {
    received: new Counter({
      name: "hookstream_gateway_received_total",
      help: "webhook requests received",
      registers: [registry],
    }),
    rejected: new Counter({
      name: "hookstream_gateway_rejected_total",
      help: "webhook requests refused, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    published: new Counter({
      name: "hookstream_gateway_published_total",
      help: "events acknowledged by JetStream (new ones)",
      labelNames: ["type"] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: "hookstream_gateway_duplicates_total",
      help: "events JetStream already had (same event id within the duplicate window)",
      registers: [registry],
    }),
    publishSeconds: new Histogram({
      name: "hookstream_gateway_publish_seconds",
      help: "time from publish to JetStream ack",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    responses: new Counter({
      name: "hookstream_gateway_responses_total",
      help: "answers to webhook requests, by status code and reason (accepted, duplicate, or the error)",
      labelNames: ["code", "reason"] as const,
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

// the answer's first field: `{"status":"accepted",…}` or `{"error":"invalid_signature",…}`
const FIRST_FIELD = /^\{"(?:status|error)":"([a-z_]{1,40})"/;

/** The `reason` label of an answer: the status or error code at the start of its JSON body. */
export function responseReason(payload: unknown): string {
  if (typeof payload !== "string") return "other";
  return FIRST_FIELD.exec(payload)?.[1] ?? "other";
}

/**
 * Counts an answer on a `/webhooks/…` route into `hookstream_gateway_responses_total`
 * (status code and reason), whichever path produced it: the route, the error handler
 * (413, 415, 400 from the body parser) or the not-found handler. Called by the request
 * tracing's send hook (traceRequests' onAnswer), so one hook serves both.
 */
export function countAnswer(metrics: GatewayMetrics) {
  return (_req: FastifyRequest, reply: FastifyReply, payload: unknown): void => {
    metrics.responses.inc({ code: String(reply.statusCode), reason: responseReason(payload) });
  };
}
