import { randomBytes } from "node:crypto";
import type { EventInsertRow } from "@hookstream/audit-store";
import { WebhookEvent } from "@hookstream/audit-store";
import { arrayLiteral, initOrm } from "@hookstream/db";
import { createLogger } from "@hookstream/observability";
import { createTestDatabase } from "@hookstream/testing";
import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { afterAll, describe, expect, inject, it } from "vitest";
import { AUDIT_MIGRATIONS } from "../db/migrations/index";
import {
  copyValue,
  createEventWriter,
  eventCopyOf,
  insertEvents,
  preparedCopyOf,
  preparedEventOf,
  timestampText,
} from "./insertEvents";

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
    payloadJson: JSON.stringify({ id: eventId }),
    status: "pending",
    metadata: {},
    retryCount: 0,
    resourceType: "batch",
    resourceId: "batch_1",
    streamSeq: 1,
    subject: "t.webhooks.openai.batch.completed",
    provider: "openai",
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

/**
 * The ways rows go in: the INSERT … ON CONFLICT statement, COPY of rows (which falls
 * back to it), and COPY of events prepared as their messages arrived (as the audit does).
 */
const WAYS = [
  { way: "INSERT … ON CONFLICT", key: "insert", write: (rows: EventInsertRow[]) => insertEvents(em(), rows) },
  {
    way: "COPY",
    key: "copy",
    write: async (rows: EventInsertRow[]) => (await createEventWriter().write(em(), rows)).inserted,
  },
  {
    way: "COPY of prepared events",
    key: "prepared",
    write: async (rows: EventInsertRow[]) =>
      (await createEventWriter().write(em(), () => rows, rows.map(preparedEventOf))).inserted,
  },
] as const;

describe.each(WAYS)("writing events by $way", ({ key, write }) => {
  it("stores text with quotes, backslashes, braces, commas, NULL-looking words and unicode unchanged", async () => {
    const tricky = 'a "quoted", {braced} \\ back\\slash, \\N, NULL, é ☃ 🚀, \t tab, \n line, \r return';
    const payload = { id: "evt_tricky", text: tricky, nested: { arr: [1, "two", null], empty: "" } };
    const written = await write([
      row(`evt_tricky_${key}`, {
        eventType: tricky,
        webhookId: "NULL",
        signature: "",
        headers: { "Webhook-Id": tricky, Empty: "" },
        payloadJson: JSON.stringify(payload),
        metadata: { note: tricky },
        resourceId: tricky,
      }),
      row(`evt_nulls_${key}`, {
        webhookId: null,
        timestamp: null,
        signature: null,
        resourceType: null,
        resourceId: null,
      }),
    ]);
    expect(written).toBe(2);
    const t = await read(`evt_tricky_${key}`);
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
    expect(await read(`evt_nulls_${key}`)).toMatchObject({
      webhook_id: null,
      timestamp: null,
      signature: null,
      resource_type: null,
      resource_id: null,
    });
  });

  it("stores signing times far from today exactly, BC and beyond year 9999 included", async () => {
    const times = [
      "+275760-09-13T00:00:00.000Z", // JavaScript's last day
      "+012345-01-02T03:04:05.678Z",
      "-001199-01-01T00:00:00.000Z", // 1200 BC
      "0000-06-01T00:00:00.000Z", // year 0 is 1 BC
      "0001-01-01T00:00:00.001Z",
    ].map((iso) => new Date(iso));
    const rows = times.map((t, i) => row(`evt_far_${key}_${i}`, { timestamp: t }));
    expect(await write(rows)).toBe(times.length);
    const stored = await em()
      .getConnection()
      .execute<Array<{ event_id: string; ms: string }>>(
        'SELECT event_id, (extract(epoch FROM "timestamp") * 1000)::bigint::text AS ms FROM webhook_events WHERE event_id LIKE ? ORDER BY event_id',
        [`evt_far_${key}_%`],
      );
    expect(stored.map((r) => Number(r.ms))).toEqual(times.map((t) => t.getTime()));
  });

  it("keeps a body Postgres refuses as jsonb as raw text, and the rest of its batch as it came", async () => {
    // each parses in JavaScript; jsonb refuses a lone surrogate escape (22P02), a number
    // beyond numeric's range (22003) and nesting deeper than its parser's stack (54001)
    const refused = [
      '{"id":"x","note":"\\ud800 alone"}',
      '{"id":"x","n":1e999999}',
      `{"id":"x","deep":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    ];
    for (const body of refused) expect(() => JSON.parse(body)).not.toThrow();
    const rows = [
      row(`evt_ok_a_${key}`, { payloadJson: '{"fine":1}' }),
      ...refused.map((body, i) => row(`evt_refused_${key}_${i}`, { payloadJson: body })),
      ...Array.from({ length: 40 }, (_, i) => row(`evt_ok_${key}_${i}`, { payloadJson: `{"fine":${i}}` })),
    ];
    expect(await write(rows)).toBe(rows.length);
    for (const [i, body] of refused.entries()) {
      const stored = await read(`evt_refused_${key}_${i}`);
      expect(stored?.payload).toEqual({ raw: body });
      expect(stored?.metadata).toMatchObject({ unparsed: true, refused: expect.stringMatching(/^(22|54)/) });
      expect(stored).toMatchObject({
        webhook_id: `wh_evt_refused_${key}_${i}`,
        event_type: "batch.completed",
      });
    }
    expect((await read(`evt_ok_a_${key}`))?.payload).toEqual({ fine: 1 });
    expect((await read(`evt_ok_${key}_39`))?.payload).toEqual({ fine: 39 });
  });

  it("keeps two providers' events with the same id apart, in one batch or in two", async () => {
    const id = `evt_shared_${key}`;
    const acme = (n: number) =>
      row(id, { provider: "acme", subject: "t.webhooks.acme.invoice.paid", payloadJson: `{"n":${n}}` });
    expect(await write([row(id, { payloadJson: '{"n":1}' }), acme(2)])).toBe(2);
    const other = `evt_shared_apart_${key}`;
    expect(await write([row(other)])).toBe(1);
    expect(await write([row(other), { ...acme(3), eventId: other }])).toBe(1);
    const { rows } = await em()
      .getConnection()
      .execute<Array<{ provider: string; payload: unknown }>>(
        "SELECT provider, payload FROM webhook_events WHERE event_id = ? ORDER BY provider",
        [id],
      )
      .then((r) => ({ rows: r }));
    expect(rows).toEqual([
      { provider: "acme", payload: { n: 2 } },
      { provider: "openai", payload: { n: 1 } },
    ]);
    expect(
      (await em().getConnection().execute("SELECT 1 FROM webhook_events WHERE event_id = ?", [other])).length,
    ).toBe(2);
  });

  it("writes an event whose id no b-tree index takes (54000) with its keys shortened, and the rest of its batch", async () => {
    // random text does not compress: over the ~2.7 kB a b-tree row may hold
    const huge = randomBytes(4_500).toString("base64url");
    const resource = randomBytes(4_500).toString("base64url");
    const rows = [
      row(`evt_before_huge_${key}`),
      row(`${huge}${key}`, { payloadJson: '{"kept":true}' }),
      row(`evt_huge_resource_${key}`, { resourceId: resource }),
      row(`evt_after_huge_${key}`),
    ];
    expect(await write(rows)).toBe(4);
    const shortened = await em()
      .getConnection()
      .execute<
        Array<{
          event_id: string;
          resource_id: string | null;
          payload: unknown;
          metadata: Record<string, unknown>;
        }>
      >(
        "SELECT event_id, resource_id, payload, metadata FROM webhook_events WHERE event_id LIKE ? ORDER BY event_id",
        [`${huge.slice(0, 64)}%`],
      );
    expect(shortened).toHaveLength(1);
    expect(shortened[0]?.event_id.length).toBeLessThanOrEqual(256);
    expect(shortened[0]?.metadata).toMatchObject({
      refused: expect.stringMatching(/^54000/),
      shortened: { event_id: huge.length + key.length },
    });
    const byResource = await read(`evt_huge_resource_${key}`);
    expect(String(byResource?.resource_id).length).toBeLessThanOrEqual(256);
    expect(await read(`evt_before_huge_${key}`)).toBeDefined();
    expect(await read(`evt_after_huge_${key}`)).toBeDefined();
    // a redelivery of the same batch changes nothing: the shortened key is the same each time
    expect(await write(rows)).toBe(0);
  });

  it("keeps the first row of an id twice in one batch and counts only new rows", async () => {
    const id = `evt_twice_${key}`;
    const first = row(id, { payloadJson: '{"n":1}' });
    expect(await write([first, row(id, { payloadJson: '{"n":2}' })])).toBe(1);
    expect((await read(id))?.payload).toEqual({ n: 1 });
    expect(await write([row(id, { payloadJson: '{"n":3}' })])).toBe(0);
    expect((await read(id))?.payload).toEqual({ n: 1 });
  });

  it("keeps rows in order across columns in a large batch", async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) =>
      row(`evt_many_${key}_${i}`, {
        payloadJson: JSON.stringify({ i }),
        headers: { i: String(i) },
        streamSeq: i,
        resourceId: `r${i}`,
      }),
    );
    expect(await write(rows)).toBe(2_500);
    const prefix = `evt_many_${key}_`;
    const bad = await em()
      .getConnection()
      .execute<Array<{ n: string }>>(
        "SELECT count(*) AS n FROM webhook_events WHERE event_id LIKE ? || '%' AND NOT (payload->>'i' = stream_seq::text AND headers->>'i' = stream_seq::text AND resource_id = 'r' || stream_seq AND event_id = ? || stream_seq)",
        [prefix, prefix],
      );
    expect(Number(bad[0]?.n)).toBe(0);
  });

  it("fills in an outcome's placeholder and keeps the status the outcomes decided", async () => {
    const id = `evt_placeholder_${key}`;
    await em()
      .getConnection()
      .execute(
        "INSERT INTO webhook_events (event_id, event_type, status) VALUES (?, 'batch.completed', 'processed')",
        [id],
      );
    // both count: the placeholder gets the event for the first time
    expect(await write([row(id), row(`${id}_other`)])).toBe(2);
    expect(await read(id)).toMatchObject({
      subject: "t.webhooks.openai.batch.completed",
      webhook_id: `wh_${id}`,
    });
    const [status] = await em()
      .getConnection()
      .execute<Array<{ status: string }>>("SELECT status FROM webhook_events WHERE event_id = ?", [id]);
    expect(status?.status).toBe("processed");
    expect(await read(`${id}_other`)).toMatchObject({ subject: "t.webhooks.openai.batch.completed" });
  });
});

describe("the COPY writer", () => {
  it("writes a batch of new events by COPY", async () => {
    const writer = createEventWriter();
    expect(await writer.write(em(), [row("evt_copy_1"), row("evt_copy_2")])).toEqual({
      inserted: 2,
      path: "copy",
    });
  });

  it("writes times beyond years 1 to 9999 by COPY itself, not by its fallback", async () => {
    const rows = ["+275760-09-13T00:00:00.000Z", "-001199-01-01T00:00:00.000Z"].map((iso, i) =>
      row(`evt_copy_far_${i}`, { timestamp: new Date(iso) }),
    );
    expect(await createEventWriter().write(em(), () => rows, rows.map(preparedEventOf))).toEqual({
      inserted: 2,
      path: "copy",
    });
  });

  it("sends prepared events' lines, building rows only when the INSERT has to write them", async () => {
    const writer = createEventWriter();
    const batch = [row("evt_prep_1"), row("evt_prep_2"), row("evt_prep_1", { payloadJson: '{"dup":true}' })];
    let built = 0;
    const rowsOf = () => {
      built++;
      return batch;
    };
    expect(await writer.write(em(), rowsOf, batch.map(preparedEventOf))).toEqual({
      inserted: 2,
      path: "copy",
    });
    expect(built).toBe(0);
    expect((await read("evt_prep_1"))?.payload).toEqual({ id: "evt_prep_1" });
    // evt_prep_2 is there now: COPY refuses, the INSERT writes the rows it asks for
    const again = [row("evt_prep_2"), row("evt_prep_3")];
    expect(await writer.write(em(), () => again, again.map(preparedEventOf))).toEqual({
      inserted: 1,
      path: "insert",
    });
    expect(await read("evt_prep_3")).toBeDefined();
  });

  it("prepared lines are the COPY text of the rows, the first of each event id", () => {
    const rows = [row("evt_l_1"), row("evt_l_2", { metadata: { unparsed: true } }), row("evt_l_1")];
    const copy = preparedCopyOf(rows.map(preparedEventOf));
    expect(copy.rows).toBe(2);
    expect(copy.text.toString()).toBe(eventCopyOf(rows).text);
  });

  it("writes a batch COPY refuses by INSERT, then leaves COPY aside for the pause", async () => {
    let now = 1_000;
    const failures: unknown[] = [];
    const writer = createEventWriter({
      copyPauseMs: 10_000,
      now: () => now,
      onCopyFailed: (e) => failures.push(e),
    });
    await writer.write(em(), [row("evt_pause_1", { payloadJson: '{"first":true}' })]);
    // evt_pause_1 is there: COPY fails on the unique index, nothing of its batch is written by it
    const again = await writer.write(em(), [
      row("evt_pause_1", { payloadJson: '{"first":false}' }),
      row("evt_pause_2"),
    ]);
    expect(again).toEqual({ inserted: 1, path: "insert" });
    expect(failures).toHaveLength(1);
    expect((failures[0] as { code?: string }).code).toBe("23505");
    expect((await read("evt_pause_1"))?.payload).toEqual({ first: true });
    expect(await read("evt_pause_2")).toBeDefined();
    const ids = await em()
      .getConnection()
      .execute<Array<{ n: string }>>(
        "SELECT count(*) AS n FROM webhook_events WHERE event_id LIKE 'evt_pause_%'",
      );
    expect(Number(ids[0]?.n)).toBe(2);
    now += 9_999;
    expect(writer.copying()).toBe(false);
    expect((await writer.write(em(), [row("evt_pause_3")])).path).toBe("insert");
    now += 1;
    expect(writer.copying()).toBe(true);
    expect(await writer.write(em(), [row("evt_pause_4")])).toEqual({ inserted: 1, path: "copy" });
    // the connection COPY failed on went back to the pool in a usable state
    expect(await read("evt_pause_4")).toBeDefined();
  });
});

describe("COPY text values", () => {
  it("spell times as timestamptz reads them, beyond years 1 to 9999 too", () => {
    expect(timestampText(new Date("2026-11-29T10:00:00.123Z"))).toBe("2026-11-29T10:00:00.123Z");
    expect(timestampText(new Date("+275760-09-13T00:00:00.000Z"))).toBe("275760-09-13T00:00:00.000Z");
    expect(timestampText(new Date("-001199-01-01T00:00:00.000Z"))).toBe("1200-01-01T00:00:00.000Z BC");
    expect(timestampText(new Date("0000-06-01T00:00:00.000Z"))).toBe("0001-06-01T00:00:00.000Z BC");
  });

  it("escape backslash, tab, newline and carriage return, and spell NULL as \\N", () => {
    expect(copyValue("a\\b\tc\nd\re")).toBe("a\\\\b\\tc\\nd\\re");
    expect(copyValue('plain "text", {x}')).toBe('plain "text", {x}');
    expect(copyValue("\\N")).toBe("\\\\N");
    expect(copyValue(null)).toBe("\\N");
    expect(copyValue(12)).toBe("12");
  });
});

describe("array literals", () => {
  it("spells array literals as Postgres reads them", () => {
    expect(arrayLiteral(["a", null, 'q"b\\', 3])).toBe('{"a",NULL,"q\\"b\\\\",3}');
    expect(arrayLiteral([])).toBe("{}");
  });
});
