import { type DlqEntry, DlqHeader, MessageHeader, makeTopology, ReplayHeader } from "@hookstream/contracts";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { redriveRoute } from "./redriveDeadLetter";

const topology = makeTopology("");

function entry(over: Partial<DlqEntry>): DlqEntry {
  return {
    seq: 7,
    subject: "dlq.batch.batch.failed",
    handler: "batch",
    event_type: "batch.failed",
    event_id: "evt_1",
    attempts: 8,
    error: "boom",
    dead_at: null,
    original_subject: "webhooks.openai.batch.failed",
    original_seq: 42,
    stored_at: new Date(0).toISOString(),
    ...over,
  };
}

function deadLetterHeaders() {
  const h = natsHeaders();
  h.set(MessageHeader.EventType, "batch.failed");
  h.set(DlqHeader.Handler, "x");
  h.set(DlqHeader.Error, "boom");
  return h;
}

describe("redriveRoute", () => {
  it("sends a domain handler's dead letter to its replay subject, without the DLQ's headers", () => {
    const r = redriveRoute(topology, entry({}), deadLetterHeaders());
    expect(r).toMatchObject({ kind: "route", subject: "replay.batch.batch.failed", checkDurable: null });
    if (r.kind !== "route") return;
    expect(r.headers.get(ReplayHeader.Target)).toBe("batch");
    expect(r.headers.get(DlqHeader.Error)).toBe("");
    expect(r.headers.get(MessageHeader.EventType)).toBe("batch.failed");
  });

  it("sends a destination's dead letter to that destination's redrive durable, with where it was first read", () => {
    const r = redriveRoute(
      topology,
      entry({
        handler: "delivery.ml-ops",
        subject: "dlq.delivery.ml-ops.batch.failed",
        original_subject: "notifications.batch.batch.failed",
      }),
      deadLetterHeaders(),
    );
    expect(r).toMatchObject({
      kind: "route",
      subject: "replay.delivery.ml-ops.batch.failed",
      checkDurable: "delivery-ml-ops-redrive",
    });
    if (r.kind !== "route") return;
    expect(r.headers.get(ReplayHeader.OriginalSubject)).toBe("notifications.batch.batch.failed");
    expect(r.headers.get(ReplayHeader.OriginalSeq)).toBe("42");
    expect(r.headers.get(ReplayHeader.EventId)).toBe("evt_1");
  });

  it("has no way back for an unknown handler, or a destination's dead letter that lost its origin", () => {
    expect(redriveRoute(topology, entry({ handler: "gone" }), undefined)).toMatchObject({
      kind: "unroutable",
      reason: expect.stringMatching(/"gone"/),
    });
    expect(redriveRoute(topology, entry({ handler: "delivery.BAD NAME" }), undefined)).toMatchObject({
      kind: "unroutable",
    });
    expect(
      redriveRoute(topology, entry({ handler: "delivery.ml-ops", original_subject: null }), undefined),
    ).toMatchObject({ kind: "unroutable" });
  });
});
