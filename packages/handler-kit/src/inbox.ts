import type { MigrationEntry } from "@hookstream/db";
import { RetryableError } from "@hookstream/messaging";
import { Migration } from "@mikro-orm/migrations";
import type { MikroORM } from "@mikro-orm/postgresql";

/** `inbox_fine_tuning` for handler `fine-tuning`. */
export function inboxTable(handler: string): string {
  return `inbox_${handler.replaceAll("-", "_")}`;
}

/** The inbox table of one handler, owned (and migrated) by that handler's service. */
export function inboxMigrations(handler: string): MigrationEntry[] {
  const table = inboxTable(handler);
  class Migration20261128000000CreateInbox extends Migration {
    override async up(): Promise<void> {
      this.addSql(`
        CREATE TABLE IF NOT EXISTS ${table} (
          event_id text PRIMARY KEY,
          event_type text NOT NULL,
          steps jsonb NOT NULL DEFAULT '[]'::jsonb,
          attempt integer NOT NULL DEFAULT 0,
          completed_at timestamptz NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now()
        )`);
    }
    override async down(): Promise<void> {
      this.addSql(`DROP TABLE IF EXISTS ${table}`);
    }
  }
  return [{ name: "Migration20261128000000CreateInbox", class: Migration20261128000000CreateInbox }];
}

export interface InboxState {
  /** side effects already done for this event (`notify:<url>`, `deploy`, …) */
  steps: Set<string>;
  completed: boolean;
}

/**
 * What a handler has already done per event: a redelivered or re-published event is
 * acked without repeating its work, and one that crashed half-way skips the side
 * effects it had finished. Written through the ORM's connection with plain SQL: the
 * jsonb append has no query-builder form.
 */
export class Inbox {
  private readonly table: string;

  constructor(
    private readonly orm: MikroORM,
    handler: string,
  ) {
    this.table = inboxTable(handler);
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new RetryableError(`inbox ${what}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }

  async load(eventId: string): Promise<InboxState> {
    const rows = await this.run("read", () =>
      this.orm.em
        .getConnection()
        .execute<Array<{ steps: string[]; completed_at: Date | null }>>(
          `SELECT steps, completed_at FROM ${this.table} WHERE event_id = ?`,
          [eventId],
        ),
    );
    const row = rows[0];
    return { steps: new Set(row?.steps ?? []), completed: row?.completed_at != null };
  }

  async markStep(eventId: string, eventType: string, step: string): Promise<void> {
    await this.run("write", () =>
      this.orm.em.getConnection().execute(
        `INSERT INTO ${this.table} (event_id, event_type, steps) VALUES (?, ?, ?::jsonb)
         ON CONFLICT (event_id) DO UPDATE SET steps = ${this.table}.steps || EXCLUDED.steps, updated_at = now()`,
        [eventId, eventType, JSON.stringify([step])],
      ),
    );
  }

  async complete(eventId: string, eventType: string, attempt: number): Promise<void> {
    await this.run("write", () =>
      this.orm.em.getConnection().execute(
        `INSERT INTO ${this.table} (event_id, event_type, attempt, completed_at) VALUES (?, ?, ?, now())
         ON CONFLICT (event_id) DO UPDATE SET attempt = EXCLUDED.attempt, completed_at = now(), updated_at = now()`,
        [eventId, eventType, attempt],
      ),
    );
  }
}
