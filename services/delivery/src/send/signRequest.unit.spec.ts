import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { notificationId, signedHeaders } from "./signRequest";

const SECRET = `whsec_${Buffer.from("notify-signing-secret-of-32-byte").toString("base64")}`;

describe("signed notifications", () => {
  it("verify with the standardwebhooks library", () => {
    const body = JSON.stringify({ event_id: "evt_1", status: "completed", note: "ü😀" });
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(SECRET, notificationId("evt_1", "https://x.example/hook"), now, body);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(SECRET).verify(`${body} `, headers)).toThrow();
  });

  it("give one webhook-id per event and destination, the same on every call", () => {
    const a = notificationId("evt_1", "https://x.example/hook");
    expect(notificationId("evt_1", "https://x.example/hook")).toBe(a);
    expect(notificationId("evt_1", "https://y.example/hook")).not.toBe(a);
    expect(notificationId("evt_2", "https://x.example/hook")).not.toBe(a);
    expect(a).toMatch(/^msg_[0-9a-f]{32}$/);
  });
});
