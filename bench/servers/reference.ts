/**
 * The minimal correct gateway, the ceiling the real one is measured against: verify
 * the Standard Webhooks signature over the raw bytes (node:crypto, constant time),
 * parse the body, publish with msgID = event id and the contract's headers, and answer
 * 200 once JetStream acknowledged — publishing the way the gateway does, through
 * messaging's ackedPublisher (one reply subscription, one deadline sweep), so the
 * difference between them is the gateway's own work. No line logged per request, no
 * metrics, no tracing: the fastest correct gateway. Compiled and run as the gateway
 * is (bench/lib/proc.ts, startCompiled).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ackedPublisher } from "@hookstream/messaging";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import Fastify from "fastify";

const env = process.env;
const secret = Buffer.from((env.OPENAI_WEBHOOK_SECRET ?? "").replace(/^whsec_/, ""), "base64");
const prefix = `${env.HOOKSTREAM_NAMESPACE}.webhooks.openai`;
const nc = await connect({
  servers: (env.NATS_URL ?? "nats://127.0.0.1:4222").split(","),
  noAsyncTraces: true,
});
const js = ackedPublisher(nc);

function verified(id: string, ts: string, signatures: string, body: Buffer): boolean {
  const seconds = Number(ts);
  if (!Number.isInteger(seconds) || Math.abs(Date.now() / 1000 - seconds) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${id}.${ts}.`).update(body).digest();
  let ok = false;
  for (const entry of signatures.split(" ")) {
    if (!entry.startsWith("v1,")) continue;
    const given = Buffer.from(entry.slice(3), "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
app.post("/webhooks/openai", async (req, reply) => {
  const id = req.headers["webhook-id"];
  const ts = req.headers["webhook-timestamp"];
  const sig = req.headers["webhook-signature"];
  const body = req.body as Buffer;
  if (
    typeof id !== "string" ||
    typeof ts !== "string" ||
    typeof sig !== "string" ||
    !verified(id, ts, sig, body)
  ) {
    return reply.code(401).send({ error: "invalid_signature", message: "signature does not verify" });
  }
  let event: { id?: unknown; type?: unknown };
  try {
    event = JSON.parse(body.toString("utf8"));
  } catch {
    return reply.code(400).send({ error: "malformed_json", message: "not JSON" });
  }
  if (typeof event.id !== "string" || typeof event.type !== "string") {
    return reply.code(400).send({ error: "invalid_envelope", message: "no id or type" });
  }
  const h = natsHeaders();
  h.set("Webhook-Id", id);
  h.set("Webhook-Timestamp", ts);
  h.set("Webhook-Signature", sig);
  h.set("Event-Type", event.type);
  h.set("Received-At", new Date().toISOString());
  const ack = await js.publish(`${prefix}.${event.type}`, body, {
    msgID: event.id,
    headers: h,
    timeout: 5_000,
  });
  return { status: ack.duplicate ? "duplicate" : "accepted", event_id: event.id, seq: ack.seq };
});
await app.listen({ port: Number(env.PORT), host: "127.0.0.1" });
process.on(
  "SIGTERM",
  () =>
    void app
      .close()
      .then(() => nc.drain())
      .then(() => process.exit(0)),
);
