import { type Outcome, outcomeSubject, type Topology } from "@hookstream/contracts";
import type { JetStreamClient } from "@nats-io/jetstream";

/**
 * Publishes one attempt's outcome on `outcomes.<handler>.<status>`. The msgID makes
 * a retried publish (after a lost ack) count once; the audit's fold is idempotent anyway.
 */
export async function publishOutcome(
  js: JetStreamClient,
  topology: Topology,
  outcome: Outcome,
): Promise<void> {
  await js.publish(outcomeSubject(topology, outcome.handler, outcome.status), JSON.stringify(outcome), {
    msgID: `${outcome.handler}:${outcome.event_id}:${outcome.attempt}:${outcome.status}${outcome.replay ? ":replay" : ""}`,
  });
}
