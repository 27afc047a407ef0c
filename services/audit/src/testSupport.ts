import { parseConfig } from "@hookstream/config";
import { eventSubject, MessageHeader, type Topology } from "@hookstream/contracts";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";
import { type AuditConfig, AuditConfigSchema } from "./config";

/** Config of an audit under test: its own namespace and database, short nak delays. */
export function testAuditConfig(opts: {
  natsUrl: string;
  databaseUrl: string;
  topology: Topology;
  adminToken?: string;
}): AuditConfig {
  return parseConfig(AuditConfigSchema, {
    NATS_URL: opts.natsUrl,
    DATABASE_URL: opts.databaseUrl,
    HOOKSTREAM_NAMESPACE: opts.topology.namespace,
    ADMIN_TOKEN: opts.adminToken,
    AUDIT_MAX_NAK_DELAY_MS: "400",
    AUDIT_ACK_WAIT_MS: "5000",
    LOG_LEVEL: "silent",
    DB_POOL_MAX: "4",
  });
}

/** Headers as the gateway sets them (DESIGN.md "Streams and subjects"). */
export function gatewayHeaders(eventId: string, type: string, webhookId = `wh_${eventId}`): MsgHdrs {
  const h = natsHeaders();
  h.set(MessageHeader.WebhookId, webhookId);
  h.set(MessageHeader.WebhookTimestamp, "1750861210");
  h.set(MessageHeader.WebhookSignature, "v1,c2lnbmF0dXJl");
  h.set(MessageHeader.EventType, type);
  h.set(MessageHeader.ReceivedAt, new Date().toISOString());
  return h;
}

/** Publishes an event the way the gateway does: data = the raw body, msgID = the event id. */
export async function publishEvent(
  js: JetStreamClient,
  topology: Topology,
  body: string,
  opts: { msgID?: string; type?: string } = {},
) {
  const parsed = (() => {
    try {
      return JSON.parse(body) as { id?: string; type?: string };
    } catch {
      return {};
    }
  })();
  const type = opts.type ?? parsed.type ?? "unknown.type";
  const msgID = opts.msgID ?? parsed.id ?? `m${Math.random()}`;
  return js.publish(eventSubject(topology, type), body, { msgID, headers: gatewayHeaders(msgID, type) });
}
