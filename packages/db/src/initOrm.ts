import type { Migration } from "@mikro-orm/migrations";
import { Migrator } from "@mikro-orm/migrations";
import { type EntitySchema, MikroORM, type Options } from "@mikro-orm/postgresql";
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
}

/**
 * Creates the database if missing, connects, and runs the owner's migrations.
 * Migrations are listed explicitly: file discovery differs under tsx, vitest and
 * built JS (STACK.md).
 */
export async function initOrm({
  url,
  owner,
  entities,
  migrations,
  logger,
  poolMax = 10,
}: InitOrmOptions): Promise<MikroORM> {
  try {
    await ensureDatabase(url);
  } catch (err) {
    throw new Error(`cannot reach Postgres at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
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
    allowGlobalContext: false,
  };
  const orm = await MikroORM.init(options);
  const executed = await orm.getMigrator().up();
  if (executed.length > 0) logger.info({ migrations: executed.map((m) => m.name) }, "migrations applied");
  return orm;
}
