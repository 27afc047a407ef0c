import type { EventStats } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;

/**
 * Counts by status and by type over the whole table (the same numbers as
 * `hookstream stats`), and rows received per minute over the last hour, every
 * minute present so that a chart needs no gaps filled.
 */
export async function eventStats(em: EntityManager, now: Date): Promise<EventStats> {
  const conn = em.getConnection();
  const firstMinute = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - (WINDOW_MINUTES - 1) * MINUTE_MS;
  const [byStatus, byType, perMinute] = await Promise.all([
    conn.execute<Array<{ k: string; n: number }>>(
      "SELECT status AS k, count(*)::int AS n FROM webhook_events GROUP BY status",
    ),
    conn.execute<Array<{ k: string; n: number }>>(
      "SELECT event_type AS k, count(*)::int AS n FROM webhook_events GROUP BY event_type ORDER BY n DESC",
    ),
    conn.execute<Array<{ m: Date | string; n: number }>>(
      `SELECT date_trunc('minute', created_at) AS m, count(*)::int AS n FROM webhook_events
       WHERE created_at >= ? GROUP BY 1`,
      [new Date(firstMinute)],
    ),
  ]);
  const counts = new Map(perMinute.map((r) => [new Date(r.m).getTime(), r.n]));
  return {
    total: byStatus.reduce((sum, r) => sum + r.n, 0),
    by_status: Object.fromEntries(byStatus.map((r) => [r.k, r.n])),
    by_type: Object.fromEntries(byType.map((r) => [r.k, r.n])),
    per_minute: Array.from({ length: WINDOW_MINUTES }, (_, i) => {
      const t = firstMinute + i * MINUTE_MS;
      return { minute: new Date(t).toISOString(), count: counts.get(t) ?? 0 };
    }),
  };
}
