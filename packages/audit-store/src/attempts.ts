import type { EventAttempt, Outcome } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";

type Connection = ReturnType<EntityManager["getConnection"]>;

const COLUMNS = 9;

/**
 * The statement that writes one `webhook_attempts` row per outcome (MikroORM's `?`
 * placeholders). A redelivered outcome hits the unique key and adds nothing.
 */
export function attemptsInsertOf(outcomes: Outcome[]): { sql: string; params: unknown[] } {
  const values: string[] = [];
  const params: unknown[] = [];
  for (const o of outcomes) {
    values.push(`(${Array.from({ length: COLUMNS }, () => "?").join(", ")})`);
    // `skipped` (the inbox had it handled already) is newer than some handlers: absent means false
    const skipped = (o as { skipped?: boolean }).skipped === true;
    params.push(
      o.event_id,
      o.event_type,
      o.handler,
      o.status,
      o.attempt,
      o.error,
      new Date(o.at),
      o.replay,
      skipped,
    );
  }
  return {
    sql: `INSERT INTO webhook_attempts (event_id, event_type, handler, status, attempt, error, at, replay, skipped)
     VALUES ${values.join(", ")}
     ON CONFLICT ON CONSTRAINT webhook_attempts_outcome_unique DO NOTHING`,
    params,
  };
}

/**
 * Writes the outcomes' `webhook_attempts` rows in one statement, inside the
 * transaction that folds the same outcomes into `webhook_events`.
 */
export async function insertAttempts(conn: Connection, outcomes: Outcome[], ctx: unknown): Promise<void> {
  if (outcomes.length === 0) return;
  const { sql, params } = attemptsInsertOf(outcomes);
  await conn.execute(sql, params, "run", ctx as Parameters<Connection["execute"]>[3]);
}

type AttemptRow = {
  handler: string;
  status: EventAttempt["status"];
  attempt: number;
  error: string | null;
  at: Date | string;
  replay: boolean;
  skipped: boolean;
};

/** Every attempt at one event, oldest first. */
export async function readAttempts(em: EntityManager, eventId: string): Promise<EventAttempt[]> {
  const rows = await em
    .getConnection()
    .execute<AttemptRow[]>(
      "SELECT handler, status, attempt, error, at, replay, skipped FROM webhook_attempts WHERE event_id = ? ORDER BY at, id",
      [eventId],
    );
  return rows.map((r) => ({
    handler: r.handler,
    status: r.status,
    attempt: r.attempt,
    error: r.error,
    at: new Date(r.at).toISOString(),
    replay: r.replay,
    skipped: r.skipped,
  }));
}
