import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { registerConsumerGauges, registerDlqGauge } from "./consumerGauges";
import { createRegistry } from "./metrics";

const ns = `cg${Date.now().toString(36)}${Math.random().toString(16).slice(2, 6)}`;
const nc = await connect({ servers: inject("natsUrl").split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const stream = `${ns}_WEBHOOKS`;
const dlq = `${ns}_WEBHOOK_DLQ`;
await jsm.streams.add({ name: stream, subjects: [`${ns}.webhooks.>`] });
await jsm.streams.add({ name: dlq, subjects: [`${ns}.dlq.>`] });
await jsm.consumers.add(stream, { durable_name: "audit", ack_policy: AckPolicy.Explicit });
for (let i = 0; i < 3; i++) await js.publish(`${ns}.webhooks.openai.batch.completed`, "{}");
for (const subject of ["batch.batch.completed", "batch.batch.failed", "fine-tuning.fine_tuning.job.failed"]) {
  await js.publish(`${ns}.dlq.${subject}`, "{}");
}

afterAll(async () => {
  await jsm.streams.delete(stream);
  await jsm.streams.delete(dlq);
  await nc.close();
});

describe("consumer gauges", () => {
  it("read pending and ack-pending from consumer info at scrape time; an unreadable durable has no series", async () => {
    const registry = createRegistry("t", { defaultMetrics: false });
    registerConsumerGauges(registry, {
      jsm,
      durables: [
        { stream, durable: "audit" },
        { stream, durable: "missing" },
      ],
    });
    const text = await registry.metrics();
    expect(text).toContain(`hookstream_consumer_pending{stream="${stream}",durable="audit",service="t"} 3`);
    expect(text).toContain(
      `hookstream_consumer_ack_pending{stream="${stream}",durable="audit",service="t"} 0`,
    );
    expect(text).toMatch(/hookstream_consumer_ack_floor_age_seconds\{[^}]*durable="audit"[^}]*\} \d/);
    expect(text).not.toContain('durable="missing"');
  });

  it("add the durables of a second registration to the same gauges", async () => {
    const registry = createRegistry("t", { defaultMetrics: false });
    registerConsumerGauges(registry, { jsm, durables: [{ stream, durable: "missing" }] });
    registerConsumerGauges(registry, { jsm, durables: [{ stream, durable: "audit" }] });
    expect(await registry.metrics()).toContain('durable="audit"');
  });

  it("count dead letters per handler from the DLQ stream's subjects, 0 for a known handler without any", async () => {
    const registry = createRegistry("t", { defaultMetrics: false });
    registerDlqGauge(registry, { jsm, stream: dlq, subjectPrefix: `${ns}.dlq`, handlers: ["response"] });
    const text = await registry.metrics();
    expect(text).toContain('hookstream_dlq_messages{handler="batch",service="t"} 2');
    expect(text).toContain('hookstream_dlq_messages{handler="fine-tuning",service="t"} 1');
    expect(text).toContain('hookstream_dlq_messages{handler="response",service="t"} 0');
  });

  it("leave /metrics answering when NATS does not", async () => {
    const closed = await connect({ servers: inject("natsUrl").split(",") });
    const closedJsm = await jetstreamManager(closed);
    await closed.close();
    const registry = createRegistry("t", { defaultMetrics: false });
    registerConsumerGauges(registry, { jsm: closedJsm, durables: [{ stream, durable: "audit" }] });
    registerDlqGauge(registry, { jsm: closedJsm, stream: dlq, subjectPrefix: `${ns}.dlq` });
    const text = await registry.metrics();
    expect(text).toContain("# TYPE hookstream_consumer_pending gauge");
    expect(text).not.toMatch(/^hookstream_consumer_pending\{/m);
    expect(text).not.toMatch(/^hookstream_dlq_messages\{/m);
  });
});
