/**
 * Pause instead of dead-letter, on real NATS (issue 23, "Must show"): a receiver down
 * for 30 s under load loses nothing and dead-letters nothing; the breaker is shared by
 * every instance through the KV bucket, so one started after it opened does not hammer
 * the dead receiver.
 */
import { DestinationList, type Topology } from "@hookstream/contracts";
import type { RunningService } from "@hookstream/runtime";
import { eventually } from "@hookstream/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { deliveryKit } from "../testing/deliveryKit";
import type { DeliveryConfig } from "./config";

const kit = await deliveryKit(inject("natsUrl"));
const { jsm } = kit;
const ADMIN_TOKEN = "pause-test-admin-token";

afterAll(() => kit.close());

const instance = (topology: Topology, destinations: unknown[], env: Record<string, string>) =>
  kit.instance(topology, destinations, { ADMIN_TOKEN, ...env });

const notify = (topology: Topology, id: string, resource: string) =>
  kit.notify(topology, {
    handler: "batch",
    id,
    type: "batch.completed",
    body: { event_id: id, resource_type: "batch", resource_id: resource },
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a receiver down for 30 s under load", () => {
  it("pauses its destinations: nothing dead-lettered, nothing lost, everything delivered after it returns (ordered ones in order)", async () => {
    const topology = kit.topology("dpause");
    const receiver = await kit.receiver();
    await instance(
      topology,
      [
        { name: "plain", url: receiver.url("/plain") },
        { name: "ordered", url: receiver.url("/ordered"), ordering: "resource" },
      ],
      {
        DELIVERY_BREAKER_FAILURES: "3",
        DELIVERY_BREAKER_PAUSE_MS: "1000",
        DELIVERY_BREAKER_MAX_PAUSE_MS: "4000",
      },
    );
    const ids: string[] = [];
    let n = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const id = `evt_pause_${n++}`;
        ids.push(id);
        await notify(topology, id, `batch_${n % 7}`);
      }
    };
    await send(10);
    await eventually(() => receiver.on("/plain").length >= 10, { message: "the first events" });

    await receiver.down();
    const downAt = Date.now();
    // load while it is down: 4 events a second for 30 s
    while (Date.now() - downAt < 30_000) {
      await send(2);
      await sleep(500);
    }
    await receiver.up();
    await eventually(
      () =>
        new Set(receiver.on("/plain").map((r) => (r.body as { event_id: string }).event_id)).size >=
        ids.length,
      { timeoutMs: 90_000, intervalMs: 500, message: "every event at the plain destination" },
    );
    await eventually(() => receiver.on("/ordered").length >= ids.length, {
      timeoutMs: 90_000,
      intervalMs: 500,
      message: "every event at the ordered destination",
    });
    expect(new Set(receiver.on("/plain").map((r) => (r.body as { event_id: string }).event_id))).toEqual(
      new Set(ids),
    );
    // in stream order per resource
    const order = new Map(ids.map((id, i) => [id, i]));
    const seen = new Map<string, number>();
    for (const r of receiver.on("/ordered")) {
      const body = r.body as { event_id: string; resource_id: string };
      const at = order.get(body.event_id) ?? -1;
      expect(at).toBeGreaterThan(seen.get(body.resource_id) ?? -1);
      seen.set(body.resource_id, at);
    }
    const dlq = await jsm.streams.info(topology.streams.dlq);
    expect(dlq.state.messages).toBe(0);
  }, 240_000);
});

describe("the breaker, shared by every instance", () => {
  it("keeps an instance started after it opened from hammering the dead receiver", async () => {
    const topology = kit.topology("dshare");
    const receiver = await kit.receiver();
    receiver.answerWith(() => ({ status: 503 }));
    const destinations = [{ name: "dead", url: receiver.url("/dead") }];
    // a long pause: no probe within the test
    const env = { DELIVERY_BREAKER_FAILURES: "2", DELIVERY_BREAKER_PAUSE_MS: "600000" };
    const a = await instance(topology, destinations, env);
    for (let i = 0; i < 5; i++) await notify(topology, `evt_share_a_${i}`, `b${i}`);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const stateOn = async (svc: RunningService<DeliveryConfig>) =>
      DestinationList.parse(
        (await svc.app.inject({ method: "GET", url: "/admin/destinations", headers: auth })).json(),
      ).destinations[0]?.state;
    await eventually(async () => (await stateOn(a)) === "open", {
      message: "the breaker open on the first instance",
    });
    await sleep(500);
    const before = receiver.requests.length;

    const b = await instance(topology, destinations, env);
    expect(await stateOn(b)).toBe("open");
    for (let i = 0; i < 5; i++) await notify(topology, `evt_share_b_${i}`, `c${i}`);
    await eventually(
      async () => {
        const info = await jsm.consumers.info(topology.streams.notifications, "delivery-dead");
        return info.num_pending === 0 && info.num_ack_pending === 10;
      },
      { message: "every event held by the instances, none sent" },
    );
    await sleep(2_000);
    expect(receiver.requests.length).toBe(before);
    // nothing dead-lettered: the events wait
    expect((await jsm.streams.info(topology.streams.dlq)).state.messages).toBe(0);
  });
});
