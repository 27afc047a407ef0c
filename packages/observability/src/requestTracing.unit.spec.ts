import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { injectRequestTrace, parentTraceId, traceLogFields, traceRequests } from "./requestTracing";
import { initTracing, startRequestSpan } from "./tracing";

/** NATS-like headers backed by a Map */
function carrier() {
  const m = new Map<string, string>();
  return { get: (k: string) => m.get(k) ?? "", set: (k: string, v: string) => void m.set(k, v), m };
}

/** What OpenTelemetry's W3C propagator makes of a traceparent: the parent trace id, or null. */
function otelParent(header: string): string | null {
  const { span } = startRequestSpan("x", { traceparent: header }, {});
  const sc = span.spanContext();
  const fresh = startRequestSpan("y", {}, {}).span.spanContext();
  // a new root gets a random trace id; a continued one keeps the header's
  return sc.traceId === header.trim().split("-")[1] && sc.traceId !== fresh.traceId ? sc.traceId : null;
}

describe("request tracing without an exporter (ids, no span)", () => {
  // ids mode: the process records nothing (no exporter) and has no async context
  initTracing({ serviceName: "unit-requests", env: {}, asyncContext: false });

  it("reads a traceparent as OpenTelemetry's W3C propagator does", () => {
    const valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for (const h of [
      valid,
      ` ${valid} `,
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
      "garbage",
    ]) {
      expect(parentTraceId(h), h).toBe(otelParent(h));
    }
  });

  async function traced(headers: Record<string, string>) {
    const app = Fastify();
    traceRequests(app, { prefix: "/webhooks/" });
    let out = carrier();
    let log = {};
    app.post("/webhooks/x", async (req) => {
      out = carrier();
      injectRequestTrace(req, out);
      log = traceLogFields(req);
      return {};
    });
    await app.inject({ method: "POST", url: "/webhooks/x", headers, payload: {} });
    await app.close();
    return { out: out.m, log };
  }

  it("continues the sender's trace with a new span id, not sampled, and passes tracestate and baggage on", async () => {
    const { out, log } = await traced({
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "vendor=abc",
      baggage: "tenant=acme",
    });
    const tp = out.get("traceparent") ?? "";
    expect(tp).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    expect(tp.split("-")[2]).not.toBe("b7ad6b7169203331");
    expect(out.get("tracestate")).toBe("vendor=abc");
    expect(out.get("baggage")).toBe("tenant=acme");
    expect(log).toEqual({ trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: tp.split("-")[2] });
  });

  it("starts a new trace for a request without a valid traceparent, each one its own", async () => {
    const a = await traced({ traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01" });
    const b = await traced({});
    for (const { out, log } of [a, b]) {
      expect(out.get("traceparent")).toMatch(/^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-00$/);
      expect(out.has("tracestate")).toBe(false);
      expect((log as { trace_id: string }).trace_id).toBe(out.get("traceparent")?.split("-")[1]);
    }
    expect(a.out.get("traceparent")).not.toBe(b.out.get("traceparent"));
  });

  it("traces only the routes under its prefix", async () => {
    const app = Fastify();
    traceRequests(app, { prefix: "/webhooks/" });
    let log: object = { unset: true };
    app.get("/metrics", async (req) => {
      log = traceLogFields(req);
      return {};
    });
    await app.inject({ method: "GET", url: "/metrics" });
    await app.close();
    expect(log).toEqual({});
  });
});
