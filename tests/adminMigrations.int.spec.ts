/**
 * `erasures` moved from the audit to the admin service (issue 22): a database the
 * audit migrated before the split (its history lists CreateErasures) and a fresh
 * one both end with the table, and neither service refuses to start.
 */
import { ADMIN_MIGRATIONS } from "@hookstream/admin";
import { AUDIT_MIGRATIONS } from "@hookstream/audit";
import { initOrm } from "@hookstream/db";
import { createLogger } from "@hookstream/observability";
import { createTestDatabase } from "@hookstream/testing";
import { describe, expect, inject, it } from "vitest";

const logger = createLogger({ name: "admin-migrations", level: "silent" });
const [createErasures] = ADMIN_MIGRATIONS;
const ADMIN_NAMES = ADMIN_MIGRATIONS.map((m) => m.name);

async function migrate(url: string, owner: string, migrations: typeof ADMIN_MIGRATIONS): Promise<string[]> {
  const orm = await initOrm({ url, owner, entities: [], migrations, logger, poolMax: 2 });
  try {
    const rows = await orm.em
      .getConnection()
      .execute<{ name: string }[]>(`select name from mikro_orm_migrations_${owner} order by id`);
    await orm.em.getConnection().execute("select count(*) from erasures");
    return rows.map((r) => r.name);
  } finally {
    await orm.close();
  }
}

describe("the erasures table after the split", () => {
  it("is kept on a database the audit migrated before the split, and the admin records its migration", async () => {
    const db = await createTestDatabase(inject("databaseUrl"), "adminmig_old");
    try {
      const before = [...AUDIT_MIGRATIONS];
      before.splice(2, 0, createErasures!);
      expect(await migrate(db.url, "audit", before)).toContain(createErasures!.name);
      // the audit's list no longer names it: the history it holds is left alone
      expect(await migrate(db.url, "audit", AUDIT_MIGRATIONS)).toContain(createErasures!.name);
      expect(await migrate(db.url, "admin", ADMIN_MIGRATIONS)).toEqual(ADMIN_NAMES);
    } finally {
      await db.drop();
    }
  });

  it("is created on a fresh database by the admin, in either start order", async () => {
    const db = await createTestDatabase(inject("databaseUrl"), "adminmig_new");
    try {
      expect(await migrate(db.url, "admin", ADMIN_MIGRATIONS)).toEqual(ADMIN_NAMES);
      expect(await migrate(db.url, "audit", AUDIT_MIGRATIONS)).not.toContain(createErasures!.name);
    } finally {
      await db.drop();
    }
  });
});
