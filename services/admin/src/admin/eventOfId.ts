import type { EntityManager } from "@mikro-orm/postgresql";
import { ConflictError } from "./adminErrors";

/**
 * The row of one event: an event is its provider and its id together. Without a
 * provider the id alone names it when one provider has it; when several have, the
 * answer is 409 `ambiguous_event_id` naming them, so the caller asks again with one.
 * Null when there is no such event.
 */
export async function eventOfId<R extends { provider: string }>(
  em: EntityManager,
  columns: string,
  eventId: string,
  provider: string | undefined,
): Promise<R | null> {
  const rows = await em
    .getConnection()
    .execute<R[]>(
      `SELECT ${columns} FROM webhook_events WHERE event_id = ?${provider === undefined ? "" : " AND provider = ?"} ORDER BY provider`,
      provider === undefined ? [eventId] : [eventId, provider],
    );
  if (rows.length > 1) {
    throw new ConflictError(
      `events of ${rows.length} providers have the id ${eventId} (${rows.map((r) => r.provider).join(", ")}): name one with provider`,
      "ambiguous_event_id",
    );
  }
  return rows[0] ?? null;
}

/** How an answer names an event: its id, and its provider when that is not OpenAI. */
export function eventName(eventId: string, provider: string | undefined): string {
  return provider === undefined || provider === "openai" ? eventId : `${provider} event ${eventId}`;
}
