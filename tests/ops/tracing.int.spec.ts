/**
 * One trace from the HTTP request to the side effect: the gateway's request span,
 * the consumer's span on the published message (runConsumer continues the
 * `traceparent` the gateway put in the NATS headers), and the notification POST
 * (postJson carries it on). Gateway and consumer run in this process, against the
 * shared NATS; spans go to an in-memory exporter. And the delivery service's way: an
 * attempt continues the trace of the message it sends, by hand (postOutbound's
 * `traceOf`, no async context).
 */
import { Writable } from "node:stream";
import { DEFAULT_RETRY } from "@hookstream/contracts";
import { buildApp } from "@hookstream/gateway";
import { postJson } from "@hookstream/handler-kit";
import { ackedPublisher, runConsumer } from "@hookstream/messaging";
import {
  createLogger,
  createRegistry,
  initTracing,
  injectTraceContext,
  SpanKind,
  withMessageSpan,
} from "@hookstream/observability";
import { postOutbound } from "@hookstream/runtime";
import {
  deleteStreams,
  eventBody,
  eventually,
  NotificationReceiver,
  signWebhook,
  TEST_SECRET,
  testTopology,
} from "@hookstream/testing";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, inject, it } from "vitest";

const exporter = new InMemorySpanExporter();
const tracing = initTracing({ serviceName: "tracing-test", exporter });

const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  name: "tracing-test",
  level: "info",
  destination: new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  }),
});

const topology = testTopology("trc");
const nc = await connect({ servers: inject("natsUrl").split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
await jsm.streams.add({ name: topology.streams.webhooks, subjects: [topology.subjects.webhooksAll] });
await jsm.consumers.add(topology.streams.webhooks, {
  durable_name: "batch",
  ack_policy: AckPolicy.Explicit,
  filter_subject: `${topology.subjects.openaiPrefix}.batch.>`,
});
const receiver = await NotificationReceiver.start();

const gateway = buildApp({
  config: {
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    WEBHOOK_TOLERANCE_SEC: 300,
    MAX_BODY_BYTES: 1024 * 1024,
    PUBLISH_TIMEOUT_MS: 3_000,
    RETRY_AFTER_SEC: 5,
    AUTH_FAILURE_BURST: 50,
    AUTH_FAILURES_PER_SEC: 10,
    TRUST_PROXY: false as const,
  },
  topology,
  publisher: ackedPublisher(nc),
  logger,
  registry: createRegistry("gateway", { defaultMetrics: false }),
  isConnected: () => true,
  readiness: async () => null,
});

// a handler reduced to its side effect: notify, as startHandler's ctx.notify does
const consumer = runConsumer({
  js,
  stream: topology.streams.webhooks,
  durable: "batch",
  policy: DEFAULT_RETRY,
  logger,
  async handle(msg) {
    const event = JSON.parse(new TextDecoder().decode(msg.data)) as { id: string; type: string };
    logger.child({ event_id: event.id, event_type: event.type }).info("notifying");
    await postJson(
      receiver.url("/notify"),
      { event: event.id },
      { idempotencyKey: event.id, timeoutMs: 5_000 },
    );
  },
});

afterAll(async () => {
  await consumer.stop();
  await gateway.close();
  await receiver.close();
  await deleteStreams(jsm, topology);
  await nc.drain();
  await tracing.shutdown();
});

describe("tracing", () => {
  it("follows one webhook from the gateway through the handler to its notification in one trace", async () => {
    const body = eventBody("batch.completed");
    const eventId = (JSON.parse(body) as { id: string }).id;
    const signed = signWebhook(TEST_SECRET, body);
    const res = await gateway.inject({
      method: "POST",
      url: "/webhooks/openai",
      headers: signed.headers,
      payload: body,
    });
    expect(res.statusCode).toBe(200);

    const notification = await eventually(() => receiver.on("/notify")[0], {
      message: "the notification",
    });
    const [, traceId, parentSpanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(
      String(notification.headers.traceparent),
    ) ?? ["", "", ""];

    const spans = await eventually(
      () => {
        const s = exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === traceId);
        return s.length >= 3 && s;
      },
      { message: "three finished spans of the trace" },
    );
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const process = spans.find((s) => s.kind === SpanKind.CONSUMER);
    const client = spans.find((s) => s.kind === SpanKind.CLIENT);
    expect(server?.name).toBe("POST /webhooks/openai");
    expect(server?.attributes["http.response.status_code"]).toBe(200);
    // gateway → consumer → notification, each the parent of the next
    expect(process?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(client?.parentSpanContext?.spanId).toBe(process?.spanContext().spanId);
    // the receiver saw the client span as its parent
    expect(client?.spanContext().spanId).toBe(parentSpanId);

    // the log lines about the event, at the gateway and at the handler, name the trace
    const aboutEvent = lines.filter((l) => l.event_id === eventId);
    expect(aboutEvent.map((l) => l.msg)).toEqual(expect.arrayContaining(["event accepted", "notifying"]));
    for (const line of aboutEvent) expect(line.trace_id).toBe(traceId);
  });

  it("continues a message's trace in an outbound attempt given the message's headers, without async context", async () => {
    // a handler's notification message: its headers carry the handler's span
    const carried = natsHeaders();
    const handlerSpan = await withMessageSpan("handler", undefined, {}, async (span) => {
      injectTraceContext(carried);
      return span.spanContext();
    });
    const res = await postOutbound({
      url: receiver.url("/delivered"),
      body: "{}",
      headers: { "content-type": "application/json" },
      timeoutMs: 5_000,
      traceOf: carried,
    });
    expect(res).toMatchObject({ ok: true, traceId: handlerSpan.traceId });
    const got = await eventually(() => receiver.on("/delivered")[0], { message: "the delivery" });
    const [, traceId, parentSpanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(
      String(got.headers.traceparent),
    ) ?? ["", "", ""];
    expect(traceId).toBe(handlerSpan.traceId);
    const client = await eventually(
      () =>
        exporter
          .getFinishedSpans()
          .find((x) => x.kind === SpanKind.CLIENT && x.spanContext().spanId === parentSpanId),
      { message: "the attempt's client span" },
    );
    expect(client.parentSpanContext?.spanId).toBe(handlerSpan.spanId);
    expect(client.attributes["http.response.status_code"]).toBe(200);
  });
});
