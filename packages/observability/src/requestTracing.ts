import { isSpanContextValid } from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Context, endRequestSpan, type Span, startRequestSpan } from "./tracing";

const spans = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();

/**
 * A SERVER span per request on the routes under `prefix` (the webhook routes, not
 * the scrapes and probes), and the trace id on the request's logger: every line the
 * route logs about the event carries `trace_id`.
 */
export function traceRequests(app: FastifyInstance, opts: { prefix: string }): void {
  app.addHook("onRequest", async (req) => {
    if (!req.url.startsWith(opts.prefix)) return;
    const path = req.url.split("?")[0] ?? req.url;
    const started = startRequestSpan(`${req.method} ${path}`, req.headers, {
      "http.request.method": req.method,
      "url.path": path,
    });
    spans.set(req, started);
    const sc = started.span.spanContext();
    // no ids at all when OpenTelemetry is disabled (OTEL_SDK_DISABLED)
    if (isSpanContextValid(sc)) req.log = req.log.child({ trace_id: sc.traceId, span_id: sc.spanId });
  });
  app.addHook("onResponse", async (req, reply) => {
    const started = spans.get(req);
    if (started) endRequestSpan(started.span, reply.statusCode);
  });
}

/** The trace context of a request traced by traceRequests (the active context otherwise). */
export function requestTraceContext(req: FastifyRequest): Context | undefined {
  return spans.get(req)?.ctx;
}
