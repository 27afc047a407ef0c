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
          claimed_until timestamptz NULL,
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

  /**
   * Takes the event for `leaseMs`, so that two copies of it (a re-publish, a
   * redelivery racing a slow attempt, two instances) are never worked on at once.
   * Returns the state to resume from, "completed" when it was handled already, or
   * "busy" while another attempt holds the lease. `force` (replay --force) takes an
   * event even when it was completed.
   */
  async claim(
    eventId: string,
    eventType: string,
    leaseMs: number,
    force: boolean,
  ): Promise<InboxState | "completed" | "busy"> {
    const rows = await this.run("claim", () =>
      this.orm.em.getConnection().execute<Array<{ steps: string[] }>>(
        `INSERT INTO ${this.table} (event_id, event_type, claimed_until)
         VALUES (?, ?, now() + ? * interval '1 millisecond')
         ON CONFLICT (event_id) DO UPDATE SET claimed_until = EXCLUDED.claimed_until, updated_at = now()
           WHERE (${this.table}.completed_at IS NULL OR ?)
             AND (${this.table}.claimed_until IS NULL OR ${this.table}.claimed_until < now())
         RETURNING steps`,
        [eventId, eventType, leaseMs, force],
      ),
    );
    const row = rows[0];
    if (row) return { steps: new Set(force ? [] : row.steps), completed: false };
    return (await this.load(eventId)).completed && !force ? "completed" : "busy";
  }

  async renew(eventId: string, leaseMs: number): Promise<void> {
    await this.run("renew", () =>
      this.orm.em
        .getConnection()
        .execute(
          `UPDATE ${this.table} SET claimed_until = now() + ? * interval '1 millisecond' WHERE event_id = ? AND completed_at IS NULL`,
          [leaseMs, eventId],
        ),
    );
  }

  /** Gives the lease back after a failed attempt, so the retry need not wait for it to expire. */
  async release(eventId: string): Promise<void> {
    await this.run("release", () =>
      this.orm.em
        .getConnection()
        .execute(`UPDATE ${this.table} SET claimed_until = NULL WHERE event_id = ?`, [eventId]),
    );
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
         ON CONFLICT (event_id) DO UPDATE SET attempt = EXCLUDED.attempt, completed_at = now(), claimed_until = NULL, updated_at = now()`,
        [eventId, eventType, attempt],
      ),
    );
  }
}
