import { isSpanContextValid } from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Context, endRequestSpan, type Span, startRequestSpan } from "./tracing";

const spans = new WeakMap<
  FastifyRequest,
  { span: Span; ctx: Context; log: { trace_id: string; span_id: string } | null }
>();

/**
 * A SERVER span per request on the routes under `prefix` (the webhook routes, not
 * the scrapes and probes), and the trace id for the request's log lines: every line
 * the route logs about the event carries `trace_id` (traceLogFields).
 */
export function traceRequests(app: FastifyInstance, opts: { prefix: string }): void {
  app.addHook("onRequest", async (req) => {
    if (!req.url.startsWith(opts.prefix)) return;
    const path = req.url.split("?")[0] ?? req.url;
    const started = startRequestSpan(`${req.method} ${path}`, req.headers, {
      "http.request.method": req.method,
      "url.path": path,
    });
    const sc = started.span.spanContext();
    // no ids at all when OpenTelemetry is disabled (OTEL_SDK_DISABLED); the ids go on
    // the lines the route writes (traceLogFields), not on a child logger per request
    spans.set(req, {
      ...started,
      log: isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : null,
    });
  });
  app.addHook("onResponse", async (req, reply) => {
    const started = spans.get(req);
    if (started) endRequestSpan(started.span, reply.statusCode);
  });
}

const NO_FIELDS = {};

/** `{ trace_id, span_id }` of a request traced by traceRequests, for the lines logged about it. */
export function traceLogFields(req: FastifyRequest): { trace_id?: string; span_id?: string } {
  return spans.get(req)?.log ?? NO_FIELDS;
}

/** The trace context of a request traced by traceRequests (the active context otherwise). */
export function requestTraceContext(req: FastifyRequest): Context | undefined {
  return spans.get(req)?.ctx;
}
