import {
  NotificationHeader,
  notificationSubject,
  type OpenAIEvent,
  type Topology,
} from "@hookstream/contracts";
import { injectTraceContext } from "@hookstream/observability";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";

export interface PublishedNotification {
  handler: string;
  event: Pick<OpenAIEvent, "id" | "type">;
  body: Record<string, unknown>;
  /** a forced replay: published again under a fresh key, so the dedup window does not drop it */
  force: boolean;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : typeof v === "number" ? String(v) : null;
}

/**
 * A handler's notification of one event, as an event: `notifications.<handler>.<type>`
 * on stream NOTIFICATIONS, keyed by the event id (`Nats-Msg-Id`: a redelivered
 * handler's second publish is dropped by JetStream), with the event and the resource
 * in headers so that the delivery service routes and orders without parsing. The
 * delivery service owns every outbound call from here on (docs/destinations.md).
 */
export async function publishNotification(
  deps: { js: JetStreamClient; topology: Topology },
  n: PublishedNotification,
): Promise<void> {
  const h = natsHeaders();
  h.set(NotificationHeader.EventId, n.event.id);
  h.set(NotificationHeader.EventType, n.event.type);
  const resourceType = str(n.body.resource_type);
  const resourceId = str(n.body.resource_id);
  if (resourceType) h.set(NotificationHeader.ResourceType, resourceType);
  if (resourceId) h.set(NotificationHeader.ResourceId, resourceId);
  injectTraceContext(h);
  await deps.js.publish(notificationSubject(deps.topology, n.handler, n.event.type), JSON.stringify(n.body), {
    headers: h,
    msgID: n.force ? `${n.event.id}:forced:${Date.now()}` : n.event.id,
  });
}
