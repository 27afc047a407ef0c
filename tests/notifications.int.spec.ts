/**
 * Signed outbound notifications (issue 13, item 5) on real NATS and Postgres: a
 * handler notifies NOTIFY_URLS signed with Standard Webhooks (verified here with the
 * `standardwebhooks` library), every attempt lands in the delivery log the admin API
 * shows per event, and a destination that keeps failing is paused by its circuit
 * breaker: its events go to the DLQ with the reason instead of being retried on.
 */
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { DlqHeader, EventDeliveries, EventDetail } from "@hookstream/contracts";
import {
  type HandlerConfig,
  type HandlerDefinition,
  handlerConfigSchema,
  notificationId,
  startHandler,
} from "@hookstream/handler-kit";
import { maskUrl } from "@hookstream/runtime";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  NotificationReceiver,
  publishEvent,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, inject, it } from "vitest";

const logger = pino({ level: "silent" });
const topology = testTopology("ntf");
const natsUrl = inject("natsUrl");
const db = await createTestDatabase(inject("databaseUrl"), "ntf");
const nc = await connect({ servers: natsUrl.split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const receiver = await NotificationReceiver.start();
const ADMIN_TOKEN = "notify-admin-token";
const SIGNING_SECRET = `whsec_${Buffer.from("hookstream-notify-test-secret-32").toString("base64")}`;
const URL_NOTIFY = receiver.url("/notify");
const PAUSE_MS = 5_000;

/** the handler's work: one notification per event */
const notifying: HandlerDefinition = {
  handler: "batch",
  async process(ctx) {
    await ctx.notify({ event_id: ctx.event.id, type: ctx.event.type, note: "café ✓" });
  },
};

const common = {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  LOG_LEVEL: "silent",
};
const audit = await startAudit(
  parseConfig(AuditConfigSchema, { ...common, ADMIN_TOKEN, AUDIT_MAX_NAK_DELAY_MS: "400" }),
  logger,
);
const handler = await startHandler(
  notifying,
  parseConfig(handlerConfigSchema("batch"), {
    ...common,
    NOTIFY_URLS: URL_NOTIFY,
    NOTIFY_SIGNING_SECRET: SIGNING_SECRET,
    NOTIFY_BREAKER_FAILURES: "2",
    NOTIFY_BREAKER_PAUSE_MS: String(PAUSE_MS),
    HANDLER_MAX_DELIVER: "10",
    HANDLER_BASE_DELAY_MS: "50",
    HANDLER_MAX_DELAY_MS: "100",
  }) as HandlerConfig,
  logger,
);

afterAll(async () => {
  await handler.service.stop();
  await audit.service.stop();
  await receiver.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await db.drop();
});

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function deliveriesOf(eventId: string, count: number) {
  return eventually(
    async () => {
      const res = await audit.app.inject({
        method: "GET",
        url: `/admin/events/${eventId}/deliveries`,
        headers: auth,
      });
      const { deliveries } = EventDeliveries.parse(res.json());
      return deliveries.length >= count ? deliveries : undefined;
    },
    { message: `${count} delivery records of ${eventId}` },
  );
}

async function dlqError(eventId: string): Promise<string> {
  return eventually(
    async () => {
      const info = await jsm.streams.info(topology.streams.dlq);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(topology.streams.dlq, { seq }).catch(() => null);
        if (m?.header.get(DlqHeader.EventId) === eventId) return m.header.get(DlqHeader.Error);
      }
      return undefined;
    },
    { message: `the dead letter of ${eventId}` },
  );
}

async function metricLine(pattern: RegExp): Promise<string | undefined> {
  const text = (await handler.app.inject({ method: "GET", url: "/metrics" })).body;
  return text.split("\n").find((l) => pattern.test(l));
}

const received = (eventId: string) =>
  receiver.on("/notify").filter((n) => (n.body as { event_id?: string }).event_id === eventId);

describe("signed notifications", () => {
  it("are verified by the standardwebhooks library, carry a webhook-id per event and destination and the Idempotency-Key", async () => {
    const body = eventBody("batch.completed", { data: { id: "batch_signed" } });
    const id = JSON.parse(body).id as string;
    await publishEvent(js, topology, body);
    const [n] = await eventually(() => (received(id).length > 0 ? received(id) : undefined), {
      message: "the notification",
    });
    const headers = n?.headers as Record<string, string>;
    expect(new Webhook(SIGNING_SECRET).verify(n?.raw ?? "", headers)).toMatchObject({ event_id: id });
    expect(headers["webhook-id"]).toBe(notificationId(id, URL_NOTIFY));
    expect(headers["idempotency-key"]).toBe(id);
    // another secret does not verify them
    const other = `whsec_${Buffer.from("some-other-secret-of-thirty-two!").toString("base64")}`;
    expect(() => new Webhook(other).verify(n?.raw ?? "", headers)).toThrow();
  });
});

describe("the delivery log", () => {
  it("records every attempt (status, latency, error) with one webhook-id across retries, shown by the admin API and the event detail", async () => {
    receiver.failNext(1, 503);
    const body = eventBody("batch.completed", { data: { id: "batch_retried" } });
    const id = JSON.parse(body).id as string;
    await publishEvent(js, topology, body);
    const deliveries = await deliveriesOf(id, 2);
    expect(deliveries.map((d) => [d.attempt, d.outcome, d.status_code])).toEqual([
      [1, "failed", 503],
      [2, "delivered", 200],
    ]);
    expect(deliveries[0]?.error).toMatch(/answered 503/);
    expect(deliveries[1]?.error).toBeNull();
    for (const d of deliveries) {
      expect(d).toMatchObject({
        handler: "batch",
        // shown with its path masked: a receiver's path may be its secret
        url: maskUrl(URL_NOTIFY),
        webhook_id: notificationId(id, URL_NOTIFY),
      });
      expect(d.latency_ms).toBeGreaterThanOrEqual(0);
    }
    expect(received(id)[0]?.headers["webhook-id"]).toBe(deliveries[0]?.webhook_id);

    const detail = await audit.app.inject({ method: "GET", url: `/admin/events/${id}`, headers: auth });
    expect(EventDetail.parse(detail.json()).deliveries).toEqual(deliveries);
  });
});

describe("the circuit breaker", () => {
  it("pauses a destination after N consecutive failures: its events go to the DLQ with the url and the end of the pause; a success after the pause closes it", async () => {
    receiver.failNext(2, 500);
    const tripping = eventBody("batch.completed", { data: { id: "batch_trip" } });
    const trippingId = JSON.parse(tripping).id as string;
    await publishEvent(js, topology, tripping);

    // two failures open it; the next delivery is not sent but dead-lettered with the reason
    const reason = await dlqError(trippingId);
    expect(reason).toContain(`notifications to ${maskUrl(URL_NOTIFY)} are paused until `);
    expect(reason).not.toContain("/notify");
    const deliveries = await deliveriesOf(trippingId, 3);
    expect(deliveries.map((d) => d.outcome)).toEqual(["failed", "failed", "paused"]);
    expect(received(trippingId)).toHaveLength(0);

    // another event for the paused destination goes to the DLQ too
    const during = eventBody("batch.completed", { data: { id: "batch_during" } });
    const duringId = JSON.parse(during).id as string;
    await publishEvent(js, topology, during);
    expect(await dlqError(duringId)).toContain(`notifications to ${maskUrl(URL_NOTIFY)} are paused until `);
    const destination = `destination="127.0.0.1:${receiver.port}"`;
    expect(await metricLine(new RegExp(`^hookstream_notify_breaker_open\\{.*${destination}`))).toMatch(/ 1$/);
    expect(await metricLine(/^hookstream_notify_deliveries_total\{.*outcome="paused"/)).toMatch(/ [1-9]\d*$/);

    // once the pause is over, a delivery is tried again; its success closes the breaker
    const until = Date.parse(/paused until (\S+) /.exec(reason)?.[1] ?? "");
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now() + 100)));
    const after = eventBody("batch.completed", { data: { id: "batch_after" } });
    const afterId = JSON.parse(after).id as string;
    await publishEvent(js, topology, after);
    expect((await deliveriesOf(afterId, 1)).map((d) => d.outcome)).toEqual(["delivered"]);
    await eventually(
      async () =>
        (await metricLine(new RegExp(`^hookstream_notify_breaker_open\\{.*${destination}`)))?.endsWith(" 0"),
      { message: "the breaker gauge back to 0" },
    );
  });
});
