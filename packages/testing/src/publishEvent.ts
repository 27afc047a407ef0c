import { eventSubject, MessageHeader, type Topology } from "@hookstream/contracts";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";

/**
 * Publishes an event body to WEBHOOKS exactly as the gateway does (subject
 * `webhooks.openai.<type>`, data = the raw body, msgID = the event id, the contract
 * headers), for tests of what consumes the stream. `msgID` overrides the dedup id:
 * a re-publish outside the duplicate window.
 */
export async function publishEvent(
  js: JetStreamClient,
  topology: Topology,
  body: string,
  opts: { msgID?: string } = {},
): Promise<PubAck> {
  const { id, type } = JSON.parse(body) as { id: string; type: string };
  const h = natsHeaders();
  h.set(MessageHeader.WebhookId, `wh_${id}`);
  h.set(MessageHeader.WebhookTimestamp, String(Math.floor(Date.now() / 1000)));
  h.set(MessageHeader.WebhookSignature, "v1,dGVzdA==");
  h.set(MessageHeader.EventType, type);
  h.set(MessageHeader.ReceivedAt, new Date().toISOString());
  return js.publish(eventSubject(topology, type), body, { msgID: opts.msgID ?? id, headers: h });
}
