import { isSpanContextValid } from "@opentelemetry/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Context, endRequestSpan, type Span, startRequestSpan } from "./tracing";

interface RequestTrace {
  span: Span;
  ctx: Context;
  log: { trace_id: string; span_id: string } | null;
}

/** Where a traced request keeps its span: a decoration, so every request has the same shape. */
const TRACE = "hookstreamTrace";
type TracedRequest = FastifyRequest & { [TRACE]?: RequestTrace | null };

export interface TraceRequestsOptions {
  /** only requests whose URL starts with this are traced (the webhook routes, not probes and scrapes) */
  prefix: string;
  /**
   * Told about every answer to a traced request as it is sent, with its payload
   * (the gateway counts answers by status and reason here: one hook, not two).
   */
  onAnswer?(req: FastifyRequest, reply: FastifyReply, payload: unknown): void;
}

/**
 * A SERVER span per request on the routes under `prefix`, and the trace id for the
 * request's log lines: every line the route logs about the event carries `trace_id`
 * (traceLogFields). The span starts when the request arrives and ends when its answer
 * is sent, whichever path produced it (route, error handler, not-found handler).
 *
 * Two callback hooks and a request decoration: async hooks cost two promises per
 * request and a WeakMap a hashed insert, which the gateway's profile showed beside
 * the minimal reference (BENCHMARKS.md).
 */
export function traceRequests(app: FastifyInstance, opts: TraceRequestsOptions): void {
  app.decorateRequest(TRACE, null);
  app.addHook("onRequest", (req, _reply, done) => {
    if (req.url.startsWith(opts.prefix)) {
      const q = req.url.indexOf("?");
      const path = q === -1 ? req.url : req.url.slice(0, q);
      const started = startRequestSpan(`${req.method} ${path}`, req.headers, {
        "http.request.method": req.method,
        "url.path": path,
      });
      const sc = started.span.spanContext();
      // no ids at all when OpenTelemetry is disabled (OTEL_SDK_DISABLED); the ids go on
      // the lines the route writes (traceLogFields), not on a child logger per request
      (req as TracedRequest)[TRACE] = {
        span: started.span,
        ctx: started.ctx,
        log: isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : null,
      };
    }
    done();
  });
  app.addHook("onSend", (req, reply, payload, done) => {
    const traced = (req as TracedRequest)[TRACE];
    if (traced) {
      opts.onAnswer?.(req, reply, payload);
      endRequestSpan(traced.span, reply.statusCode);
    }
    done(null, payload);
  });
}

const NO_FIELDS = {};

/** `{ trace_id, span_id }` of a request traced by traceRequests, for the lines logged about it. */
export function traceLogFields(req: FastifyRequest): { trace_id?: string; span_id?: string } {
  return (req as TracedRequest)[TRACE]?.log ?? NO_FIELDS;
}

/** The trace context of a request traced by traceRequests (the active context otherwise). */
export function requestTraceContext(req: FastifyRequest): Context | undefined {
  return (req as TracedRequest)[TRACE]?.ctx;
}
