import { type Outcome, outcomeSubject, type Topology } from "@hookstream/contracts";
import { injectTraceContext } from "@hookstream/observability";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";

/**
 * Publishes one attempt's outcome on `outcomes.<handler>.<status>`. The msgID makes
 * a retried publish (after a lost ack) count once; the audit's fold is idempotent anyway.
 */
export async function publishOutcome(
  js: JetStreamClient,
  topology: Topology,
  outcome: Outcome,
): Promise<void> {
  // traceparent of the attempt: the audit's outcome batch span links to the event's trace
  const headers = natsHeaders();
  injectTraceContext(headers);
  await js.publish(outcomeSubject(topology, outcome.handler, outcome.status), JSON.stringify(outcome), {
    headers,
    msgID: `${outcome.handler}:${outcome.event_id}:${outcome.attempt}:${outcome.status}${outcome.replay ? ":replay" : ""}`,
  });
}
