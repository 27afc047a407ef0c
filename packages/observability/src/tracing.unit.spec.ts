import { describe, expect, it } from "vitest";
import { currentTraceId, initTracing, injectTraceContext, withMessageSpan } from "./tracing";

/** NATS-like headers backed by a Map */
function carrier(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return { get: (k: string) => m.get(k) ?? "", set: (k: string, v: string) => void m.set(k, v), m };
}

describe("tracing without an exporter", () => {
  const tracing = initTracing({ serviceName: "unit", env: {} });

  it("records nothing", () => {
    expect(tracing.recording).toBe(false);
  });

  it("still continues a message's trace id into the headers it publishes and into logs", async () => {
    const incoming = carrier({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
    const out = carrier();
    const seen = await withMessageSpan("unit process", incoming, {}, async () => {
      injectTraceContext(out);
      return currentTraceId();
    });
    expect(seen).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(out.m.get("traceparent")).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
  });

  it("starts a new trace for a message without traceparent", async () => {
    const id = await withMessageSpan("unit process", carrier(), {}, async () => currentTraceId());
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(currentTraceId()).toBeUndefined();
  });
});
