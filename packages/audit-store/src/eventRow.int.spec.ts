import { deleteStreams, testTopology } from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { headerRecord, messageHeaders } from "./eventRow";

const topology = testTopology("auditrow");
const nc = await connect({ servers: inject("natsUrl").split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);

afterAll(async () => {
  await deleteStreams(jsm, topology);
  await nc.close();
});

describe("messageHeaders", () => {
  it("reads a JetStream message's header block exactly as nats.js decodes it, without decoding it twice", async () => {
    const stream = topology.streams.webhooks;
    await jsm.streams.add({ name: stream, subjects: [`${topology.namespace}.rows.>`] });
    const h = natsHeaders();
    h.set("Nats-Msg-Id", "evt_h");
    h.set("Webhook-Signature", "v1,abc= v1,def=");
    h.set("Received-At", "2026-11-29T10:00:00.000Z");
    h.set("Spaced", "  padded value  ");
    h.append("Twice", "first");
    h.append("Twice", "second");
    h.set("lower-case", "x:y:z");
    await js.publish(`${topology.namespace}.rows.a`, "{}", { headers: h });
    await js.publish(`${topology.namespace}.rows.b`, "{}");
    const consumer = await js.consumers.get(stream);
    const [withHeaders, without] = [await consumer.next(), await consumer.next()];
    // the fast path reads fields nats.js keeps private: fail here, not silently slow, when they move
    expect((withHeaders as unknown as { msg: object }).msg).toHaveProperty("_rdata");
    expect(messageHeaders(withHeaders!)).toEqual(headerRecord(withHeaders!.headers));
    expect(messageHeaders(withHeaders!)).toMatchObject({
      Twice: "first",
      Spaced: "padded value",
      "lower-case": "x:y:z",
    });
    expect(messageHeaders(without!)).toEqual({});
  });
});
