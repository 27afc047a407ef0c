import { randomFillSync } from "node:crypto";
import { isSpanContextValid } from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  type Context,
  endRequestSpan,
  type HeaderCarrier,
  injectTraceContext,
  type Span,
  startRequestSpan,
  TRACEPARENT,
  tracingMode,
} from "./tracing";

interface RequestTrace {
  /** recording mode: the SERVER span and its context */
  span: Span | null;
  ctx: Context | undefined;
  /** ids mode: the headers that carry the trace on (traceparent, and the sender's tracestate and baggage) */
  carry: Array<[string, string]> | null;
  log: { trace_id: string; span_id: string } | null;
}

/** Where a traced request keeps its trace: a decoration, so every request has the same shape. */
const TRACE = "hookstreamTrace";
type TracedRequest = FastifyRequest & { [TRACE]?: RequestTrace | null };

export interface TraceRequestsOptions {
  /** only requests whose URL starts with this are traced (the webhook routes, not probes and scrapes) */
  prefix: string;
}

// W3C Trace Context: version-traceid-parentid-flags, lower-case hex, ids not all zeros
const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** The trace id of a valid incoming `traceparent` (as OpenTelemetry's W3C propagator reads it), else null. */
export function parentTraceId(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const m = TRACEPARENT_RE.exec(header.trim());
  if (!m) return null;
  const [, version, traceId, spanId, , rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return traceId as string;
}

// random ids from a pool refilled 4 KiB at a time (one system call per ~170 requests)
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString("hex", poolAt, poolAt + bytes);
  poolAt += bytes;
  return hex;
}
function newId(bytes: number): string {
  for (;;) {
    const id = randomHex(bytes);
    if (/[^0]/.test(id)) return id;
  }
}

/**
 * The trace of a request when spans are not recorded (the default): the ids a
 * non-recording OpenTelemetry span would have had, made directly — the sender's trace
 * id when its `traceparent` is valid, else a new one, and a new span id — with no span,
 * context or propagator per request. Same headers out: `traceparent` (flags 00, not
 * sampled, as the AlwaysOff sampler gives) and the sender's `tracestate` and `baggage`.
 */
function idsTrace(req: FastifyRequest): RequestTrace {
  const headers = req.headers;
  const parent = parentTraceId(headers.traceparent);
  const traceId = parent ?? newId(16);
  const spanId = newId(8);
  const carry: Array<[string, string]> = [[TRACEPARENT, `00-${traceId}-${spanId}-00`]];
  if (parent !== null && typeof headers.tracestate === "string")
    carry.push(["tracestate", headers.tracestate]);
  if (typeof headers.baggage === "string") carry.push(["baggage", headers.baggage]);
  return { span: null, ctx: undefined, carry, log: { trace_id: traceId, span_id: spanId } };
}

/** The trace of a request when spans are recorded (OTLP export): a SERVER span. */
function spanTrace(req: FastifyRequest): RequestTrace {
  const q = req.url.indexOf("?");
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const started = startRequestSpan(`${req.method} ${path}`, req.headers, {
    "http.request.method": req.method,
    "url.path": path,
  });
  const sc = started.span.spanContext();
  return {
    span: started.span,
    ctx: started.ctx,
    carry: null,
    log: isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : null,
  };
}

/** How the requests of each app are traced (set by traceRequests). */
const modes = new WeakMap<object, { mode: "record" | "ids" | "off"; prefix: string }>();

/**
 * The trace of each request on the routes under `prefix`, and the trace id for the
 * request's log lines: every line the route logs about the event carries `trace_id`
 * (traceLogFields), and what it publishes carries the trace on (injectRequestTrace).
 *
 * When spans are recorded (OTEL_EXPORTER_OTLP_ENDPOINT) each request gets a SERVER
 * span from its arrival to its answer, whichever path produced it (route, error
 * handler, not-found handler): two callback hooks. By default it gets the same ids
 * without a span, made when the route first asks for them: no hook at all. With
 * OTEL_SDK_DISABLED, nothing. A non-recording span per request with its context and
 * propagators, in async hooks, was a quarter of the gateway's time per request beside
 * the minimal reference (BENCHMARKS.md, "Gateway").
 */
export function traceRequests(app: FastifyInstance, opts: TraceRequestsOptions): void {
  const mode = tracingMode();
  app.decorateRequest(TRACE, null);
  // the routes' requests share the root instance's prototype: key the mode on the server
  modes.set(app.server, { mode, prefix: opts.prefix });
  if (mode !== "record") return;
  app.addHook("onRequest", (req, _reply, done) => {
    if (req.url.startsWith(opts.prefix)) (req as TracedRequest)[TRACE] = spanTrace(req);
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    const span = (req as TracedRequest)[TRACE]?.span;
    if (span) endRequestSpan(span, reply.statusCode);
    done();
  });
}

/** The request's trace: the recorded span's, or (by default) ids made on first use. */
function traceOf(req: FastifyRequest): RequestTrace | null {
  const traced = req as TracedRequest;
  const known = traced[TRACE];
  if (known) return known;
  const how = modes.get(req.server.server);
  if (how?.mode !== "ids" || !req.url.startsWith(how.prefix)) return null;
  const made = idsTrace(req);
  traced[TRACE] = made;
  return made;
}

const NO_FIELDS = {};

/** `{ trace_id, span_id }` of a request traced by traceRequests, for the lines logged about it. */
export function traceLogFields(req: FastifyRequest): { trace_id?: string; span_id?: string } {
  return traceOf(req)?.log ?? NO_FIELDS;
}

/** The trace context of a request traced by traceRequests with a recorded span (undefined otherwise). */
export function requestTraceContext(req: FastifyRequest): Context | undefined {
  return (req as TracedRequest)[TRACE]?.ctx;
}

/** Puts a traced request's trace into the headers of what it publishes (`traceparent` and company). */
export function injectRequestTrace(req: FastifyRequest, headers: HeaderCarrier): void {
  const trace = traceOf(req);
  if (!trace) return;
  if (trace.carry) {
    for (const [k, v] of trace.carry) headers.set(k, v);
  } else if (trace.ctx) injectTraceContext(headers, trace.ctx);
}
