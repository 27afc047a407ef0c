import { arrayLiteral, initOrm } from "@hookstream/db";
import { createLogger } from "@hookstream/observability";
import { createTestDatabase } from "@hookstream/testing";
import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { afterAll, describe, expect, inject, it } from "vitest";
import { AUDIT_MIGRATIONS } from "../db/migrations/index";
import { WebhookEvent } from "../db/WebhookEvent";
import type { EventInsertRow } from "./eventRow";
import { insertEvents } from "./insertEvents";

const db = await createTestDatabase(inject("databaseUrl"), "auditins");
const orm = (await initOrm({
  url: db.url,
  owner: "audit",
  entities: [WebhookEvent],
  migrations: AUDIT_MIGRATIONS,
  logger: createLogger({ name: "audit-insert-test", level: "silent" }),
})) as MikroORM;
const em = () => orm.em.fork() as EntityManager;

afterAll(async () => {
  await orm.close();
  await db.drop();
});

const at = new Date("2026-11-29T10:00:00.123Z");

function row(eventId: string, over: Partial<EventInsertRow> = {}): EventInsertRow {
  return {
    eventId,
    eventType: "batch.completed",
    webhookId: `wh_${eventId}`,
    timestamp: new Date("2026-11-29T09:59:59Z"),
    signature: "v1,abc=",
    headers: { "Nats-Msg-Id": eventId },
    payload: { id: eventId },
    status: "pending",
    metadata: {},
    retryCount: 0,
    resourceType: "batch",
    resourceId: "batch_1",
    streamSeq: 1,
    subject: "t.webhooks.openai.batch.completed",
    createdAt: at,
    updatedAt: at,
    ...over,
  };
}

async function read(eventId: string) {
  const [found] = await em()
    .getConnection()
    .execute<Array<Record<string, unknown>>>(
      "SELECT event_id, event_type, webhook_id, timestamp, signature, headers, payload, status, metadata, resource_type, resource_id, stream_seq, subject, created_at FROM webhook_events WHERE event_id = ?",
      [eventId],
    );
  return found;
}

describe("insertEvents", () => {
  it("stores text with quotes, backslashes, braces, commas, NULL-looking words and unicode unchanged", async () => {
    const tricky = 'a "quoted", {braced} \\ back\\slash, NULL, é ☃ 🚀, \t tab';
    const payload = { id: "evt_tricky", text: tricky, nested: { arr: [1, "two", null], empty: "" } };
    const written = await insertEvents(em(), [
      row("evt_tricky", {
        eventType: tricky,
        webhookId: "NULL",
        signature: "",
        headers: { "Webhook-Id": tricky, Empty: "" },
        payload,
        payloadJson: JSON.stringify(payload),
        metadata: { note: tricky },
        resourceId: tricky,
      }),
      row("evt_nulls", {
        webhookId: null,
        timestamp: null,
        signature: null,
        resourceType: null,
        resourceId: null,
      }),
    ]);
    expect(written).toBe(2);
    const t = await read("evt_tricky");
    expect(t).toMatchObject({
      event_type: tricky,
      webhook_id: "NULL",
      signature: "",
      headers: { "Webhook-Id": tricky, Empty: "" },
      payload,
      metadata: { note: tricky },
      resource_id: tricky,
    });
    expect(new Date(t?.created_at as string).toISOString()).toBe(at.toISOString());
    expect(await read("evt_nulls")).toMatchObject({
      webhook_id: null,
      timestamp: null,
      signature: null,
      resource_type: null,
      resource_id: null,
    });
  });

  it("keeps the first row of an id twice in one batch and counts only new rows", async () => {
    const first = row("evt_twice", { payload: { n: 1 } });
    expect(await insertEvents(em(), [first, row("evt_twice", { payload: { n: 2 } })])).toBe(1);
    expect((await read("evt_twice"))?.payload).toEqual({ n: 1 });
    expect(await insertEvents(em(), [row("evt_twice", { payload: { n: 3 } })])).toBe(0);
    expect((await read("evt_twice"))?.payload).toEqual({ n: 1 });
  });

  it("keeps rows in order across columns in a large batch", async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) =>
      row(`evt_many_${i}`, { payload: { i }, headers: { i: String(i) }, streamSeq: i, resourceId: `r${i}` }),
    );
    expect(await insertEvents(em(), rows)).toBe(2_500);
    const bad = await em()
      .getConnection()
      .execute<Array<{ n: string }>>(
        "SELECT count(*) AS n FROM webhook_events WHERE event_id LIKE 'evt_many_%' AND NOT (payload->>'i' = stream_seq::text AND headers->>'i' = stream_seq::text AND resource_id = 'r' || stream_seq AND event_id = 'evt_many_' || stream_seq)",
      );
    expect(Number(bad[0]?.n)).toBe(0);
  });

  it("spells array literals as Postgres reads them", () => {
    expect(arrayLiteral(["a", null, 'q"b\\', 3])).toBe('{"a",NULL,"q\\"b\\\\",3}');
    expect(arrayLiteral([])).toBe("{}");
  });
});
