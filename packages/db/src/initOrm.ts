import type { Migration } from "@mikro-orm/migrations";
import { Migrator } from "@mikro-orm/migrations";
import { type EntitySchema, MikroORM, type Options } from "@mikro-orm/postgresql";
import pg from "pg";
import type { Logger } from "pino";
import { ensureDatabase, redactUrl } from "./ensureDatabase";

export interface MigrationEntry {
  name: string;
  class: new (...args: never[]) => Migration;
}

export interface InitOrmOptions {
  url: string;
  /** the owning service: it names the migrations table so services never run each other's migrations */
  owner: string;
  entities: EntitySchema[];
  migrations: MigrationEntry[];
  logger: Logger;
  poolMax?: number;
  /** create the database if missing and run the migrations (false: a migration Job did) */
  migrate?: boolean;
}

/**
 * Creates the database if missing, connects, and runs the owner's migrations.
 * Migrations are listed explicitly: file discovery differs under tsx, vitest and
 * built JS (docs/architecture.md, "Platform notes").
 */
export async function initOrm({
  url,
  owner,
  entities,
  migrations,
  logger,
  poolMax = 10,
  migrate = true,
}: InitOrmOptions): Promise<MikroORM> {
  if (migrate) {
    try {
      await ensureDatabase(url);
    } catch (err) {
      throw new Error(`cannot reach Postgres at ${redactUrl(url)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const options: Options = {
    clientUrl: url,
    entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: poolMax },
    migrations: {
      tableName: `mikro_orm_migrations_${owner.replaceAll("-", "_")}`,
      migrationsList: migrations.map((m) => ({ name: m.name, class: m.class as never })),
      transactional: true,
      allOrNothing: true,
    },
    debug: false,
    // the ORM's own lines (the migrator's among them) go through pino, without ANSI colours
    colors: false,
    logger: (message: string) => logger.debug({ orm: true }, message),
    allowGlobalContext: false,
  };
  const orm = await MikroORM.init(options);
  if (!migrate) return orm;
  // Instances starting together on an empty database would race to create the
  // migrations table and run the same migration twice: one at a time, per owner.
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query("SELECT pg_advisory_lock(hashtext($1))", [`hookstream:migrate:${owner}`]);
    const executed = await orm.getMigrator().up();
    if (executed.length > 0) logger.info({ migrations: executed.map((m) => m.name) }, "migrations applied");
  } catch (err) {
    await orm.close();
    throw err;
  } finally {
    await lock.end().catch(() => undefined);
  }
  return orm;
}
