import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { MigrationEntry } from "@hookstream/db";
import { HandBackError, RetryableError } from "@hookstream/messaging";
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
  // the fencing token of a lease: who holds it, and the how-manieth taking of it this is
  class Migration20261206203000AddLeaseFence extends Migration {
    override async up(): Promise<void> {
      this.addSql(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS holder text NULL`);
      this.addSql(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS lease_generation bigint NOT NULL DEFAULT 0`);
    }
    override async down(): Promise<void> {
      this.addSql(
        `ALTER TABLE ${table} DROP COLUMN IF EXISTS holder, DROP COLUMN IF EXISTS lease_generation`,
      );
    }
  }
  return [
    { name: "Migration20261128000000CreateInbox", class: Migration20261128000000CreateInbox },
    { name: "Migration20261206203000AddLeaseFence", class: Migration20261206203000AddLeaseFence },
  ];
}

/**
 * The fencing token of one claim: the holder (one per Inbox, i.e. per service
 * instance) and the generation, which every taking of the event's lease increments.
 * Every write of a delivery (renew, a step done, release, complete) names it and
 * changes nothing once another delivery has taken the lease over.
 */
export interface Lease {
  eventId: string;
  holder: string;
  generation: number;
  /**
   * `performance.now()` until which the lease surely holds: half a lease after the
   * claim or renewal that set it was sent (nobody takes a lease over before it expires)
   */
  freshUntil?: number;
}

/**
 * The delivery's lease was taken over (it was paused or slow past the lease, and
 * another delivery claimed the event): it must stop before its next side effect.
 * A HandBackError: the message goes back (nak) without counting as a failure, and
 * the redelivery finds the event completed or claims it anew.
 */
export class LeaseLostError extends HandBackError {
  constructor(lease: Lease, what: string) {
    super(
      `lease lost: event ${lease.eventId} was taken over by another delivery (generation ${lease.generation} of ${lease.holder}) before ${what}`,
      1_000,
    );
  }
}

export interface InboxState {
  /** side effects already done for this event (`notify:<url>`, `deploy`, …) */
  steps: Set<string>;
  completed: boolean;
}

/** The state a claim resumes from, with the lease it holds. */
export interface ClaimedState extends InboxState {
  lease: Lease;
  /** keyed steps done but not yet written: recorded with the completion or the release */
  pending: string[];
}

/**
 * What a handler has already done per event: a redelivered or re-published event is
 * acked without repeating its work, and one that crashed half-way skips the side
 * effects it had finished. Written through the ORM's connection with plain SQL: the
 * jsonb append has no query-builder form.
 */
export class Inbox {
  private readonly table: string;
  /** this instance's name in `holder`: unique per process start */
  readonly holder: string;

  constructor(
    private readonly orm: MikroORM,
    handler: string,
    holder = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`,
  ) {
    this.table = inboxTable(handler);
    this.holder = holder;
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
  ): Promise<ClaimedState | "completed" | "busy"> {
    const sentAt = performance.now();
    const rows = await this.run("claim", () =>
      this.orm.em.getConnection().execute<Array<{ steps: string[]; lease_generation: string | number }>>(
        `INSERT INTO ${this.table} (event_id, event_type, claimed_until, holder, lease_generation)
         VALUES (?, ?, now() + ? * interval '1 millisecond', ?, 1)
         ON CONFLICT (event_id) DO UPDATE SET claimed_until = EXCLUDED.claimed_until, holder = EXCLUDED.holder,
           lease_generation = ${this.table}.lease_generation + 1, updated_at = now()
           WHERE (${this.table}.completed_at IS NULL OR ?)
             AND (${this.table}.claimed_until IS NULL OR ${this.table}.claimed_until < now())
         RETURNING steps, lease_generation`,
        [eventId, eventType, leaseMs, this.holder, force],
      ),
    );
    const row = rows[0];
    if (row) {
      const lease: Lease = {
        eventId,
        holder: this.holder,
        generation: Number(row.lease_generation),
        freshUntil: sentAt + leaseMs / 2,
      };
      return { steps: new Set(force ? [] : row.steps), completed: false, lease, pending: [] };
    }
    return (await this.load(eventId)).completed && !force ? "completed" : "busy";
  }

  /** The fence of every write under a lease: the row is still this claim's. */
  private fence(lease: Lease): { where: string; params: unknown[] } {
    return {
      where: "event_id = ? AND holder = ? AND lease_generation = ?",
      params: [lease.eventId, lease.holder, lease.generation],
    };
  }

  /**
   * Extends the lease; false when another delivery has taken it over (the caller stops
   * before its next side effect). An expired lease nobody took is still this one's; so
   * is the lease of a forced replay, which runs over an event already completed.
   */
  async renew(lease: Lease, leaseMs: number): Promise<boolean> {
    const f = this.fence(lease);
    const sentAt = performance.now();
    const rows = await this.run("renew", () =>
      this.orm.em
        .getConnection()
        .execute<unknown[]>(
          `UPDATE ${this.table} SET claimed_until = now() + ? * interval '1 millisecond' WHERE ${f.where} RETURNING 1`,
          [leaseMs, ...f.params],
        ),
    );
    if (rows.length === 0) {
      lease.freshUntil = undefined;
      return false;
    }
    lease.freshUntil = sentAt + leaseMs / 2;
    return true;
  }

  /**
   * Whether the lease is still this claim's, before a side effect. Nobody can take a
   * lease over before it expires, so one taken or extended less than half a lease ago
   * (`freshUntil`, by this process's monotonic clock read before the claim was sent)
   * needs no round trip; an older one is checked, and the check extends it.
   */
  async stillHeld(lease: Lease, leaseMs: number): Promise<boolean> {
    if (lease.freshUntil !== undefined && performance.now() < lease.freshUntil) return true;
    return this.renew(lease, leaseMs);
  }

  /** Gives the lease back after a failed attempt, so the retry need not wait for it to expire; never another's. */
  async release(lease: Lease, pending: string[] = []): Promise<void> {
    const f = this.fence(lease);
    await this.run("release", () =>
      this.orm.em
        .getConnection()
        .execute(
          `UPDATE ${this.table} SET claimed_until = NULL, steps = steps || ?::jsonb WHERE ${f.where}`,
          [JSON.stringify(pending), ...f.params],
        ),
    );
  }

  /** Records a side effect as done; throws LeaseLostError when the lease is no longer this claim's. */
  async markStep(lease: Lease, step: string): Promise<void> {
    const f = this.fence(lease);
    const rows = await this.run("write", () =>
      this.orm.em
        .getConnection()
        .execute<unknown[]>(
          `UPDATE ${this.table} SET steps = steps || ?::jsonb, updated_at = now() WHERE ${f.where} RETURNING 1`,
          [JSON.stringify([step]), ...f.params],
        ),
    );
    if (rows.length === 0) throw new LeaseLostError(lease, `recording step ${step}`);
  }

  /**
   * Marks the event handled, with the keyed steps not yet written, and ends the lease;
   * throws LeaseLostError when it is no longer this claim's.
   */
  async complete(lease: Lease, attempt: number, pending: string[] = []): Promise<void> {
    const f = this.fence(lease);
    const rows = await this.run("write", () =>
      this.orm.em
        .getConnection()
        .execute<unknown[]>(
          `UPDATE ${this.table} SET attempt = ?, completed_at = now(), claimed_until = NULL, steps = steps || ?::jsonb, updated_at = now() WHERE ${f.where} RETURNING 1`,
          [attempt, JSON.stringify(pending), ...f.params],
        ),
    );
    if (rows.length === 0) throw new LeaseLostError(lease, "completing");
  }
}
