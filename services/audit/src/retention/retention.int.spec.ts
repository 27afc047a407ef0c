import { WebhookEvent } from "@hookstream/audit-store";
import { initOrm } from "@hookstream/db";
import { createRegistry } from "@hookstream/observability";
import { createTestDatabase } from "@hookstream/testing";
import type { MikroORM } from "@mikro-orm/postgresql";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AUDIT_MIGRATIONS } from "../db/migrations/index";
import { RETENTION_LOCK, type RetentionConfig, startRetention } from "./startRetention";

const logger = pino({ level: "silent" });
const db = await createTestDatabase(inject("databaseUrl"), "ret");
const sql = new pg.Pool({ connectionString: db.url, max: 3 });
let orm: MikroORM;
const NOW = new Date("2026-06-01T00:00:00Z");
const DAY_MS = 86_400_000;

function config(overrides: Partial<RetentionConfig> = {}): RetentionConfig {
  return {
    DATABASE_URL: db.url,
    AUDIT_RETENTION_DAYS: 30,
    // far away: the tests run passes themselves with runOnce()
    AUDIT_RETENTION_INTERVAL_MS: 3_600_000,
    AUDIT_RETENTION_BATCH_SIZE: 1_000,
    AUDIT_RETENTION_PAUSE_MS: 0,
    ...overrides,
  };
}

/** `count` rows created `ageDays` before NOW, in one server-side statement. */
async function seed(prefix: string, count: number, ageDays: number) {
  await sql.query(
    `INSERT INTO webhook_events (event_id, event_type, status, created_at, updated_at)
     SELECT $1 || g, 'batch.completed', 'processed', $2::timestamptz, $2::timestamptz
     FROM generate_series(1, $3) g`,
    [prefix, new Date(NOW.getTime() - ageDays * DAY_MS), count],
  );
}

const count = async (prefix: string) =>
  Number(
    (await sql.query("SELECT count(*) AS n FROM webhook_events WHERE event_id LIKE $1", [`${prefix}%`]))
      .rows[0].n,
  );

beforeAll(async () => {
  orm = (await initOrm({
    url: db.url,
    owner: "audit",
    entities: [WebhookEvent],
    migrations: AUDIT_MIGRATIONS,
    logger,
    poolMax: 3,
  })) as MikroORM;
});

afterAll(async () => {
  await orm.close();
  await sql.end();
  await db.drop();
});

describe("audit retention (AUDIT_RETENTION_DAYS)", () => {
  it("deletes rows older than the retention in batches, keeps the newer ones, and reports both metrics", async () => {
    await seed("old_", 2_500, 45);
    await seed("edge_", 10, 29);
    await seed("new_", 20, 1);
    const registry = createRegistry("audit", { defaultMetrics: false });
    const retention = startRetention({ orm, config: config(), registry, logger, now: () => NOW });
    try {
      const before = await registry.metrics();
      expect(before).toMatch(/hookstream_audit_oldest_event_age_seconds\{service="audit"\} 3888000\b/);

      expect(await retention.runOnce()).toBe(2_500);
      expect(await count("old_")).toBe(0);
      expect(await count("edge_")).toBe(10);
      expect(await count("new_")).toBe(20);

      const after = await registry.metrics();
      expect(after).toMatch(/hookstream_audit_retention_deleted_total\{service="audit"\} 2500\b/);
      expect(after).toMatch(/hookstream_audit_oldest_event_age_seconds\{service="audit"\} 2505600\b/);
      // nothing left to delete: a second pass is a no-op
      expect(await retention.runOnce()).toBe(0);
    } finally {
      await retention.stop();
    }
  });

  it("runs on one instance at a time: a pass that cannot take the advisory lock deletes nothing", async () => {
    await seed("locked_", 50, 60);
    const holder = await sql.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtext($1))", [RETENTION_LOCK]);
      const blocked = startRetention({
        orm,
        config: config(),
        registry: createRegistry("audit", { defaultMetrics: false }),
        logger,
        now: () => NOW,
      });
      expect(await blocked.runOnce()).toBeNull();
      expect(await count("locked_")).toBe(50);
      await holder.query("SELECT pg_advisory_unlock(hashtext($1))", [RETENTION_LOCK]);
      expect(await blocked.runOnce()).toBe(50);
      await blocked.stop();
    } finally {
      holder.release();
    }
  });

  it("keeps every row when AUDIT_RETENTION_DAYS is unset", async () => {
    await seed("forever_", 5, 3_650);
    const retention = startRetention({
      orm,
      config: config({ AUDIT_RETENTION_DAYS: undefined }),
      registry: createRegistry("audit", { defaultMetrics: false }),
      logger,
      now: () => NOW,
    });
    expect(await retention.runOnce()).toBe(0);
    expect(await count("forever_")).toBe(5);
    await retention.stop();
  });
});
