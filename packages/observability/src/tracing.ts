import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";

/** The W3C Trace Context header carried in NATS messages and outbound HTTP calls. */
export const TRACEPARENT = "traceparent";
const TRACER_NAME = "hookstream";

export interface TracingOptions {
  serviceName: string;
  /**
   * Register OpenTelemetry's AsyncLocalStorage context manager (default true), which
   * makes `context.active()` follow async calls at the cost of a hook on every promise
   * the process creates. A service that passes its trace context by hand (the gateway:
   * the request's context goes into the message it publishes) turns it off.
   */
  asyncContext?: boolean;
  /** read for OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SDK_DISABLED; process.env by default */
  env?: Record<string, string | undefined>;
  /** export every span here, synchronously (tests: an InMemorySpanExporter) */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** true when spans are recorded and exported */
  recording: boolean;
  /** false when OTEL_SDK_DISABLED: no spans and no trace ids at all */
  enabled: boolean;
  /** flushes what is buffered and stops exporting */
  shutdown(): Promise<void>;
}

let active: Tracing | null = null;

/**
 * Registers the process's tracer provider, once (a second call returns the first
 * result: the API's globals can be set only once per process).
 *
 * With `OTEL_EXPORTER_OTLP_ENDPOINT` set (or an `exporter` given) every span is
 * recorded and exported over OTLP/HTTP in batches. Without it nothing is recorded:
 * spans are non-recording, but they still carry trace and span ids, so the
 * `traceparent` of a request still reaches the NATS headers, the consumers, the
 * outbound calls and every log line, at the cost of two random ids per span.
 * `OTEL_SDK_DISABLED=true` registers nothing at all (no ids either).
 */
export function initTracing(opts: TracingOptions): Tracing {
  if (active) return active;
  const env = opts.env ?? process.env;
  if (env.OTEL_SDK_DISABLED === "true") {
    active = { recording: false, enabled: false, shutdown: async () => {} };
    return active;
  }
  const processors: SpanProcessor[] = [];
  if (opts.exporter) processors.push(new SimpleSpanProcessor(opts.exporter));
  // the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS itself
  else if (env.OTEL_EXPORTER_OTLP_ENDPOINT) processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  const recording = processors.length > 0;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    // when exporting: follow the sender's sampling decision, sample every new trace
    sampler: recording ? new ParentBasedSampler({ root: new AlwaysOnSampler() }) : new AlwaysOffSampler(),
    spanProcessors: processors,
  });
  // sets the W3C propagator and (unless turned off) the AsyncLocalStorage context manager
  provider.register(opts.asyncContext === false ? { contextManager: null } : {});
  active = {
    recording,
    enabled: true,
    async shutdown() {
      await provider.shutdown();
    },
  };
  return active;
}

/** What initTracing set up: recording spans, ids only, or nothing (before initTracing: nothing). */
export function tracingMode(): "record" | "ids" | "off" {
  if (!active?.enabled) return "off";
  return active.recording ? "record" : "ids";
}

/** The subset of NATS `MsgHdrs` used here (no dependency on the NATS client). */
export interface HeaderCarrier {
  get(key: string): string;
  set(key: string, value: string): void;
}

const natsSetter: TextMapSetter<HeaderCarrier> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
const natsGetter: TextMapGetter<HeaderCarrier | undefined> = {
  keys: () => [TRACEPARENT, "tracestate"],
  // NATS answers "" for a missing header
  get: (carrier, key) => carrier?.get(key) || undefined,
};
const recordGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Puts the current (or given) trace context into NATS message headers as `traceparent`. */
export function injectTraceContext(headers: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, natsSetter);
}

/** The trace context carried by a message (the root context when it has none). */
export function extractTraceContext(headers: HeaderCarrier | undefined): Context {
  return propagation.extract(context.active(), headers, natsGetter);
}

/** Plain HTTP headers with the current trace context added (for fetch and the OpenAI SDK). */
export function withTraceHeaders(headers: Record<string, string> = {}): Record<string, string> {
  propagation.inject(context.active(), headers);
  return headers;
}

/** The trace id of the active span, or undefined outside of one. */
export function currentTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? sc.traceId : undefined;
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

function recordFailure(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Runs `fn` in a span of `kind` under `parent`, ending it when `fn` settles. */
async function inSpan<T>(
  name: string,
  kind: SpanKind,
  parent: Context,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  links?: Link[],
): Promise<T> {
  const span = tracer().startSpan(name, { kind, attributes, links }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs a consumer's work on one message in a CONSUMER span that continues the
 * message's trace (its `traceparent`); logs and outbound calls inside see it.
 */
export function withMessageSpan<T>(
  name: string,
  headers: HeaderCarrier | undefined,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(name, SpanKind.CONSUMER, extractTraceContext(headers), attributes, fn);
}

/** Most traces one batch span links to; a batch of 2000 gets the first 128 links. */
const MAX_BATCH_LINKS = 128;

/**
 * A span for work on a batch of messages (the audit's inserts, the projection's fold):
 * one span linked to the trace of each message, since a batch has many parents. The
 * headers are asked for only when the span is recorded (reading them costs).
 */
export function withBatchSpan<T>(
  name: string,
  headers: () => Array<HeaderCarrier | undefined>,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const links: Link[] = [];
  // links are only worth reading when the span is recorded
  if (active?.recording) {
    for (const h of headers()) {
      if (links.length >= MAX_BATCH_LINKS) break;
      const sc = trace.getSpanContext(extractTraceContext(h));
      if (sc && isSpanContextValid(sc)) links.push({ context: sc });
    }
  }
  return inSpan(name, SpanKind.CONSUMER, context.active(), attributes, fn, links);
}

/** Runs an outbound call in a CLIENT span; `fn` gets the headers that carry it on. */
export function withClientSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (traceHeaders: Record<string, string>, span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(name, SpanKind.CLIENT, context.active(), attributes, (span) => fn(withTraceHeaders(), span));
}

/**
 * An outbound call in a CLIENT span that continues the trace of a message (its
 * `traceparent`), for code that carries its trace by hand (a service started with
 * `asyncTraceContext: false`): the span is not made the active one, so no async context
 * is entered; `fn` gets the headers that carry it on and the message's trace id (for its
 * log lines; undefined when the message has none).
 */
export async function withClientSpanOf<T>(
  headers: HeaderCarrier | undefined,
  name: string,
  attributes: Attributes,
  fn: (traceHeaders: Record<string, string>, span: Span, traceId: string | undefined) => Promise<T>,
): Promise<T> {
  const parent = extractTraceContext(headers);
  const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  const traceHeaders: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), traceHeaders);
  const sc = span.spanContext();
  const parentSc = trace.getSpanContext(parent);
  const traceId = isSpanContextValid(sc)
    ? sc.traceId
    : parentSc && isSpanContextValid(parentSc)
      ? parentSc.traceId
      : undefined;
  try {
    return await fn(traceHeaders, span, traceId);
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A `fetch` that carries the active trace on (for clients that take a fetch, such as
 * the OpenAI SDK's `fetch` option), in a CLIENT span per call.
 */
export const tracedFetch: typeof fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  const method = init?.method ?? (input instanceof Request ? input.method : "GET");
  return inSpan(
    `${method} ${new URL(url).host}`,
    SpanKind.CLIENT,
    context.active(),
    { "http.request.method": method, "url.full": url },
    async (span) => {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      propagation.inject(context.active(), headers, {
        set: (h: Headers, k: string, v: string) => h.set(k, v),
      });
      const res = await fetch(input, { ...init, headers });
      span.setAttribute("http.response.status_code", res.status);
      if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return res;
    },
  );
};

/** Starts a SERVER span for an HTTP request, continuing a `traceparent` the caller sent. */
export function startRequestSpan(
  name: string,
  requestHeaders: Record<string, string | string[] | undefined>,
  attributes: Attributes,
): { span: Span; ctx: Context } {
  const parent = propagation.extract(context.active(), requestHeaders, recordGetter);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Ends a span started by startRequestSpan with the HTTP status of its answer. */
export function endRequestSpan(span: Span, statusCode: number): void {
  if (span.isRecording()) {
    span.setAttribute("http.response.status_code", statusCode);
    if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

export type { Context, Span };
export { SpanKind };
