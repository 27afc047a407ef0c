/**
 * Signed outbound notifications on real NATS and Postgres, end to end: a handler
 * publishes its notification as an event, the delivery service sends it to the
 * NOTIFY_URLS destination signed with Standard Webhooks (verified here with the
 * `standardwebhooks` library), and every attempt lands in the delivery log the admin
 * API shows per event. (The breaker and pause: services/delivery/src/*.int.spec.ts.)
 */
import { AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { EventDeliveries, EventDetail } from "@hookstream/contracts";
import { deliveryConfig, notificationId, startDelivery } from "@hookstream/delivery";
import {
  type HandlerConfig,
  type HandlerDefinition,
  handlerConfigSchema,
  startHandler,
} from "@hookstream/handler-kit";
import { eventBody, eventually, NotificationReceiver, publishEvent, testInfra } from "@hookstream/testing";
import { pino } from "pino";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, inject, it } from "vitest";

const logger = pino({ level: "silent" });
const infra = await testInfra("ntf", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, js } = infra;
const receiver = await NotificationReceiver.start();
infra.defer(() => receiver.close());
const ADMIN_TOKEN = "notify-admin-token";
const SIGNING_SECRET = `whsec_${Buffer.from("hookstream-notify-test-secret-32").toString("base64")}`;
const URL_NOTIFY = receiver.url("/notify");

/** the handler's work: one notification per event */
const notifying: HandlerDefinition = {
  handler: "batch",
  async process(ctx) {
    await ctx.notify({ event_id: ctx.event.id, type: ctx.event.type, note: "café ✓" });
  },
};

const common = infra.env;
infra.track(
  await startAudit(
    parseConfig(AuditConfigSchema, { ...common, ADMIN_TOKEN, AUDIT_MAX_NAK_DELAY_MS: "400" }),
    logger,
  ),
);
const admin = infra.track(
  await startAdmin(parseConfig(AdminConfigSchema, { ...common, ADMIN_TOKEN }), logger),
);
infra.track(
  await startHandler(notifying, parseConfig(handlerConfigSchema("batch"), common) as HandlerConfig, logger),
);
infra.track(
  await startDelivery(
    deliveryConfig({ ...common, NOTIFY_URLS: URL_NOTIFY, NOTIFY_SIGNING_SECRET: SIGNING_SECRET }),
    logger,
  ),
);

afterAll(() => infra.close());

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function deliveriesOf(eventId: string, count: number) {
  return eventually(
    async () => {
      const res = await admin.app.inject({
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
    const mine = await deliveriesOf(id, 2);
    expect(mine.map((d) => [d.attempt, d.outcome, d.status_code])).toEqual([
      [1, "failed", 503],
      [2, "delivered", 200],
    ]);
    expect(mine[0]?.error).toMatch(/answered 503/);
    expect(mine[1]?.error).toBeNull();
    for (const d of mine) {
      expect(d).toMatchObject({
        handler: "batch",
        destination: "notify-1",
        url: `http://127.0.0.1:${receiver.port}/***`,
        webhook_id: notificationId(id, URL_NOTIFY),
      });
      expect(d.latency_ms).toBeGreaterThanOrEqual(0);
    }
    expect(received(id)[0]?.headers["webhook-id"]).toBe(mine[0]?.webhook_id);

    const detail = await admin.app.inject({ method: "GET", url: `/admin/events/${id}`, headers: auth });
    expect(EventDetail.parse(detail.json()).deliveries).toEqual(mine);
  });
});
