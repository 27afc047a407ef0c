import { eventSubject, MessageHeader, type Topology } from "@hookstream/contracts";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";

/** The signing time every test event carries (the audit stores it as `timestamp`). */
export const TEST_WEBHOOK_TIMESTAMP = 1750861210;
/** The signature header every test event carries (base64 of "signature"; nothing downstream checks it). */
export const TEST_WEBHOOK_SIGNATURE = "v1,c2lnbmF0dXJl";

/** The headers the gateway sets on a message (docs/architecture.md, "Streams and subjects"). */
export function gatewayHeaders(eventId: string, type: string, webhookId = `wh_${eventId}`): MsgHdrs {
  const h = natsHeaders();
  h.set(MessageHeader.WebhookId, webhookId);
  h.set(MessageHeader.WebhookTimestamp, String(TEST_WEBHOOK_TIMESTAMP));
  h.set(MessageHeader.WebhookSignature, TEST_WEBHOOK_SIGNATURE);
  h.set(MessageHeader.EventType, type);
  h.set(MessageHeader.ReceivedAt, new Date().toISOString());
  return h;
}

/**
 * Publishes an event body to WEBHOOKS exactly as the gateway does (subject
 * `webhooks.openai.<type>`, data = the raw body, msgID = the event id, the contract
 * headers with `Webhook-Id: wh_<event id>`), for tests of what consumes the stream.
 * `msgID` overrides the dedup id: a re-publish outside the duplicate window. A body that
 * is not JSON needs `type` (and `msgID`, else a random one is used).
 */
export async function publishEvent(
  js: JetStreamClient,
  topology: Topology,
  body: string,
  opts: { msgID?: string; type?: string } = {},
): Promise<PubAck> {
  let parsed: { id?: string; type?: string } = {};
  try {
    parsed = JSON.parse(body) as { id?: string; type?: string };
  } catch {
    // a raw body: the audit keeps it as { raw }
  }
  const type = opts.type ?? parsed.type ?? "unknown.type";
  const msgID = opts.msgID ?? parsed.id ?? `m${Math.random()}`;
  return js.publish(eventSubject(topology, type), body, {
    msgID,
    headers: gatewayHeaders(parsed.id ?? msgID, type),
  });
}
