import { makeTopology, UNHANDLED_EVENT_TYPE } from "@hookstream/contracts";
import { describe, expect, it } from "vitest";
import { eventRowOf } from "./eventRow";

const topology = makeTopology("");
const now = new Date("2026-01-01T00:00:00Z");
const enc = (s: string) => new TextEncoder().encode(s);

function message(type: string, body: string, extra: Record<string, string> = {}) {
  return {
    subject: `webhooks.openai.${type}`,
    seq: 7,
    headers: {
      "Nats-Msg-Id": "evt_1",
      "Webhook-Id": "wh_1",
      "Webhook-Timestamp": "1750861210",
      "Webhook-Signature": "v1,abc",
      "Event-Type": type,
      "Received-At": "2026-01-01T00:00:00.000Z",
      ...extra,
    },
    data: enc(body),
  };
}

describe("eventRowOf", () => {
  it("fills every column from the contract headers and the body", () => {
    const body = JSON.stringify({
      id: "evt_1",
      object: "event",
      created_at: 1750861210,
      type: "fine_tuning.job.succeeded",
      data: { id: "ftjob-1" },
    });
    const row = eventRowOf(message("fine_tuning.job.succeeded", body), topology, now);
    expect(row).toMatchObject({
      eventId: "evt_1",
      eventType: "fine_tuning.job.succeeded",
      webhookId: "wh_1",
      timestamp: new Date(1750861210 * 1000),
      signature: "v1,abc",
      status: "pending",
      resourceType: "fine_tuning_job",
      resourceId: "ftjob-1",
      streamSeq: 7,
      subject: "webhooks.openai.fine_tuning.job.succeeded",
      retryCount: 0,
    });
    // the body's own text, not a re-serialization
    expect(row.payloadJson).toBe(body);
    expect(row.headers["Received-At"]).toBe("2026-01-01T00:00:00.000Z");
  });

  it("marks a type no handler consumes as ignored at once", () => {
    const body = JSON.stringify({
      id: "evt_1",
      created_at: 1,
      type: UNHANDLED_EVENT_TYPE,
      data: { id: "r" },
    });
    expect(eventRowOf(message(UNHANDLED_EVENT_TYPE, body), topology, now).status).toBe("ignored");
  });

  it("keeps a body that is not JSON as { raw } instead of dropping it", () => {
    const row = eventRowOf(message("batch.completed", "not json {"), topology, now);
    expect(row).toMatchObject({ eventId: "evt_1", status: "pending" });
    expect(JSON.parse(row.payloadJson)).toEqual({ raw: "not json {" });
  });

  it("keeps a body holding U+0000 raw and without the character Postgres refuses", () => {
    const row = eventRowOf(
      message("batch.completed", '{"id":"evt_1","data":{"x":"a\\u0000b"}}'),
      topology,
      now,
    );
    expect(JSON.parse(row.payloadJson)).toEqual({ raw: '{"id":"evt_1","data":{"x":"a\\u0000b"}}' });
    const nul = eventRowOf(message("batch.completed", `a${String.fromCharCode(0)}b`), topology, now);
    expect(JSON.parse(nul.payloadJson)).toEqual({ raw: "a\uFFFDb" });
  });

  it("leaves out a signing time Postgres cannot store instead of failing the row forever", () => {
    const timeOf = (createdAt: unknown, header?: string) =>
      eventRowOf(
        message("batch.completed", JSON.stringify({ id: "evt_1", created_at: createdAt, data: {} }), {
          "Webhook-Timestamp": header ?? "",
        }),
        topology,
        now,
      ).timestamp;
    expect(timeOf(1e300)).toBeNull();
    expect(timeOf(-3e11)).toBeNull(); // 7537 BC: before timestamptz's first day
    expect(timeOf(0, "99999999999999999999")).toBeNull();
    expect(timeOf(-1e11)?.getUTCFullYear()).toBe(-1199);
    expect(timeOf(8.64e12)?.toISOString()).toBe("+275760-09-13T00:00:00.000Z");
    expect(timeOf("1750861210")).toBeNull();
  });

  it("falls back to the subject and sequence when a message has no id or type header", () => {
    const row = eventRowOf(
      { subject: "webhooks.openai.batch.failed", seq: 3, headers: {}, data: enc("x") },
      topology,
      now,
    );
    expect(row).toMatchObject({ eventId: "webhooks.openai.batch.failed#3", eventType: "batch.failed" });
  });
});
