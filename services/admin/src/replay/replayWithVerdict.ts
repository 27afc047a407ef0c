import { WebhookEvent } from "@hookstream/audit-store";
import {
  type HandlerName,
  handlerForType,
  isHandlerName,
  type SingleReplayResult,
  type Topology,
} from "@hookstream/contracts";
import { inboxTable } from "@hookstream/handler-kit";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { replayDurableExists, watchReplayVerdict } from "./awaitReplayVerdict";
import { type ReplayRequest, replayEvent } from "./replayEvent";

/** Whether the handler's inbox has the event as handled (false when it has no inbox table here). */
async function inboxCompleted(em: EntityManager, handler: HandlerName, eventId: string): Promise<boolean> {
  const table = inboxTable(handler);
  const conn = em.getConnection();
  const [exists] = await conn.execute<Array<{ exists: boolean }>>(
    "SELECT to_regclass(?) IS NOT NULL AS exists",
    [table],
  );
  if (!exists?.exists) return false;
  const rows = await conn.execute<Array<{ done: boolean }>>(
    `SELECT completed_at IS NOT NULL AS done FROM ${table} WHERE event_id = ?`,
    [eventId],
  );
  return rows[0]?.done === true;
}

// how long a single replay waits for the handler's outcome by default: contracts' SingleReplayRequest
export { DEFAULT_VERDICT_WAIT_MS } from "@hookstream/contracts";

/**
 * One replay that tells what the handler did with it: listens for the handler's
 * outcome, republishes the event (replayEvent), then waits up to `waitMs` for that
 * outcome. "skipped" means the inbox had it as handled and nothing was done.
 */
export async function replayWithVerdict(
  deps: {
    em: EntityManager;
    js: JetStreamClient;
    jsm: JetStreamManager;
    nc: NatsConnection;
    topology: Topology;
  },
  req: ReplayRequest & { waitMs: number },
): Promise<SingleReplayResult> {
  const { em, jsm, nc, topology } = deps;
  // the handler is known only after the row is read: read it here for the subscription
  const row = await em.findOne(WebhookEvent, { eventId: req.eventId }, { fields: ["eventType"] });
  // an unknown handler name is refused by replayEvent below, with its message
  const named = req.handler;
  const handler: HandlerName | null =
    named !== undefined ? (isHandlerName(named) ? named : null) : row ? handlerForType(row.eventType) : null;
  const durable = handler !== null && (await replayDurableExists(jsm, topology, handler));
  const handledBefore = handler !== null && !req.force && (await inboxCompleted(em, handler, req.eventId));
  const watch =
    handler !== null && durable && req.waitMs > 0
      ? await watchReplayVerdict(nc, topology, handler, req.eventId, req.waitMs)
      : null;
  try {
    const result = await replayEvent(deps, req);
    if (!watch) return { ...result, verdict: durable ? "unconfirmed" : "no_handler", error: null };
    const { verdict, error, skipped } = await watch.verdict();
    // A handler that predates Outcome.skipped reports a skip as processed; its inbox
    // had the event completed before this replay, and without force a claim of a
    // completed event never succeeds: that processed was a skip.
    const wasSkip = verdict === "processed" && skipped === undefined && handledBefore;
    return { ...result, verdict: wasSkip ? "skipped" : verdict, error };
  } catch (err) {
    watch?.cancel();
    throw err;
  }
}
