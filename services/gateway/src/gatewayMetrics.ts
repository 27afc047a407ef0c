import { isKnownEventType, OPENAI_PROVIDER } from "@hookstream/contracts";
import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from "@hookstream/observability";

/**
 * The `type` label of an event: one of OpenAI's known types, else `other`. Any signed
 * sender may invent types; a label per invented type would grow the series without bound.
 */
export function typeLabel(provider: string, type: string): string {
  return provider === OPENAI_PROVIDER && isKnownEventType(type) ? type : "other";
}

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
      help: "events acknowledged by JetStream (new ones), by type (OpenAI's known types, else other) and OpenAI project (empty for other providers)",
      labelNames: ["type", "project"] as const,
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

/**
 * Counts an answer on a `/webhooks/…` route into `hookstream_gateway_responses_total`
 * by status code and reason (accepted, duplicate, or the error code): the route counts
 * its own answers and the HTTP shell's error answers (413, 415, 400 from the body
 * parser, 404) come through its onErrorAnswer. No hook per request.
 */
export function countResponse(metrics: GatewayMetrics, code: number, reason: string): void {
  metrics.responses.inc({ code: String(code), reason });
}
