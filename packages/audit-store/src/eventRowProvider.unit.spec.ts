import { makeTopology } from "@hookstream/contracts";
import { describe, expect, it } from "vitest";
import { eventRowOf } from "./eventRow";

const now = new Date("2026-01-01T00:00:00Z");
const enc = (s: string) => new TextEncoder().encode(s);

function message(subject: string, body: string, msgId: string) {
  return {
    subject,
    seq: 3,
    headers: { "Nats-Msg-Id": msgId, "Webhook-Id": msgId, "Event-Type": "batch.completed" },
    data: enc(body),
  };
}

describe("eventRowOf: the provider", () => {
  it("is read from the subject, with or without a namespace", () => {
    const body = JSON.stringify({ id: "evt_1", type: "batch.completed", created_at: 1, data: {} });
    expect(
      eventRowOf(message("webhooks.openai.batch.completed", body, "evt_1"), makeTopology(""), now).provider,
    ).toBe("openai");
    expect(
      eventRowOf(message("t1.webhooks.acme.batch.completed", body, "evt_1"), makeTopology("t1"), now)
        .provider,
    ).toBe("acme");
  });

  it("makes another provider's event ignored (no handler takes it) even when its type is a handled one", () => {
    const body = JSON.stringify({ type: "batch.completed", timestamp: "2026-01-01T00:00:00Z", data: {} });
    const row = eventRowOf(message("webhooks.acme.batch.completed", body, "msg_1"), makeTopology(""), now);
    expect(row).toMatchObject({ provider: "acme", status: "ignored", eventId: "msg_1" });
  });

  it("takes another provider's id from its webhook-id, not from an `id` its body may hold", () => {
    const body = JSON.stringify({ id: "not-the-event-id", type: "x.y", timestamp: "t", data: {} });
    const row = eventRowOf(message("webhooks.acme.x.y", body, "msg_2"), makeTopology(""), now);
    expect(row.eventId).toBe("msg_2");
  });

  it("reads another provider's id out of its dedup key (`<provider>:<id>`) when the message has no Webhook-Id", () => {
    const body = JSON.stringify({ type: "x.y", timestamp: "t", data: {} });
    const msg = message("webhooks.acme.x.y", body, "acme:msg_3");
    const { "Webhook-Id": _dropped, ...headers } = msg.headers;
    expect(eventRowOf({ ...msg, headers }, makeTopology(""), now).eventId).toBe("msg_3");
  });
});
