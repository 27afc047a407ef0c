import {
  type HandlerName,
  Outcome,
  type ReplayVerdict,
  replayDurable,
  type Topology,
} from "@hookstream/contracts";
import { JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export interface VerdictWatch {
  /** the handler's verdict on the replay, or `unconfirmed` after the wait */
  verdict(): Promise<{ verdict: ReplayVerdict; error: string | null; skipped?: boolean }>;
  cancel(): void;
}

/** How a replay outcome reads to the operator. */
export function verdictOf(outcome: Outcome): ReplayVerdict {
  if (outcome.status === "processed" && outcome.skipped === true) return "skipped";
  return outcome.status;
}

/**
 * Whether anyone will answer a replay to this handler: its replay durable exists
 * once the handler has started at least once. Without it nothing is waited for.
 */
export async function replayDurableExists(
  jsm: JetStreamManager,
  topology: Topology,
  handler: HandlerName,
): Promise<boolean> {
  try {
    await jsm.consumers.info(topology.streams.replays, replayDurable(handler));
    return true;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404) return false;
    throw err;
  }
}

/**
 * Listens for the handler's outcome of one replayed event, before the replay is
 * published (call it first, then publish). A plain subscription on
 * `outcomes.<handler>.>`, not a stream consumer: a repeated replay's outcome has the
 * same msg id as the first one and the stream drops it as a duplicate, but a
 * subscriber still receives it.
 */
export async function watchReplayVerdict(
  nc: NatsConnection,
  topology: Topology,
  handler: string,
  eventId: string,
  timeoutMs: number,
): Promise<VerdictWatch> {
  const sub = nc.subscribe(`${topology.subjects.outcomesPrefix}.${handler}.>`);
  const result = (async () => {
    for await (const m of sub) {
      let parsed: ReturnType<typeof Outcome.safeParse>;
      try {
        parsed = Outcome.safeParse(m.json());
      } catch {
        continue;
      }
      if (parsed.success && parsed.data.event_id === eventId && parsed.data.replay) {
        return { verdict: verdictOf(parsed.data), error: parsed.data.error, skipped: parsed.data.skipped };
      }
    }
    return { verdict: "unconfirmed" as const, error: null };
  })();
  // the server must know the interest before the replay goes out
  await nc.flush();
  let timer: NodeJS.Timeout | undefined;
  return {
    verdict() {
      timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
      return result.finally(() => {
        clearTimeout(timer);
        sub.unsubscribe();
      });
    },
    cancel() {
      clearTimeout(timer);
      sub.unsubscribe();
    },
  };
}
