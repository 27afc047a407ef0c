/**
 * The delivery service on real NATS (issue 23): filters of every kind (a raw
 * `eval.run.succeeded` routed included), signing, the deploy hook as a destination,
 * manual pause and resume, and the DLQ only once a destination's retry policy is spent.
 */
import { runCli } from "@hookstream/cli";
import {
  DeliveryRecord,
  DestinationList,
  DestinationStatus,
  DestinationTestResult,
  DlqHeader,
  providerEventSubject,
} from "@hookstream/contracts";
import { eventBody, eventually, gatewayHeaders, publishEvent } from "@hookstream/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, inject, it } from "vitest";
import { deliveryKit } from "../testing/deliveryKit";

const kit = await deliveryKit(inject("natsUrl"));
const { js, jsm } = kit;
const topology = kit.topology("dlv");
const receiver = await kit.receiver();
const SECRET = `whsec_${Buffer.from("delivery-test-secret-of-32-bytes").toString("base64")}`;
const ADMIN_TOKEN = "delivery-admin-token";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

receiver.answerWith((path) => (path === "/dead" ? { status: 500 } : undefined));

const destinations = [
  {
    name: "all-batch",
    url: receiver.url("/all-batch"),
    filter: { types: ["batch.*"] },
    secret: SECRET,
    headers: { "x-team": "ml" },
  },
  { name: "failed-only", url: receiver.url("/failed-only"), filter: { match: { "/status": "failed" } } },
  { name: "ft-handler", url: receiver.url("/ft-handler"), filter: { handlers: ["fine-tuning"] } },
  {
    name: "raw-eval",
    url: receiver.url("/raw-eval"),
    source: "events",
    filter: { types: ["eval.run.*"], providers: ["openai"] },
  },
  { name: "acme-only", url: receiver.url("/acme-only"), source: "events", filter: { providers: ["acme"] } },
  { name: "held", url: receiver.url("/held"), filter: { types: ["response.*"] } },
  {
    name: "dead",
    url: receiver.url("/dead"),
    filter: { types: ["batch.expired"] },
    retry: { attempts: 3, backoffMs: [50], timeoutMs: 1000 },
  },
];

const delivery = await kit.instance(topology, destinations, {
  ADMIN_TOKEN,
  DEPLOY_HOOK_URL: receiver.url("/deploy"),
  NOTIFY_SIGNING_SECRET: SECRET,
  DELIVERY_BREAKER_FAILURES: "100",
});

afterAll(() => kit.close());

let n = 0;
async function notify(handler: string, type: string, body: Record<string, unknown>) {
  const id = `evt_dlv_${Date.now().toString(36)}_${n++}`;
  await kit.notify(topology, { handler, id, type, body: { event_id: id, event_type: type, ...body } });
  return id;
}

const idsOn = (path: string) =>
  receiver
    .on(path)
    .map((r) => (r.body as { event_id?: string; id?: string }).event_id ?? (r.body as { id?: string }).id);

async function records(): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  const info = await jsm.streams.info(topology.streams.deliveries);
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(topology.streams.deliveries, { seq }).catch(() => null);
    if (m) out.push(DeliveryRecord.parse(m.json()));
  }
  return out;
}

describe("filters", () => {
  it("route each event to the destinations whose filter takes it: types, handlers, providers, JSON pointers, raw events", async () => {
    const completed = await notify("batch", "batch.completed", {
      resource_type: "batch",
      resource_id: "b1",
      status: "completed",
    });
    const failed = await notify("batch", "batch.failed", {
      resource_type: "batch",
      resource_id: "b2",
      status: "failed",
    });
    const ftFailed = await notify("fine-tuning", "fine_tuning.job.failed", {
      resource_type: "fine_tuning_job",
      resource_id: "ft1",
      status: "failed",
    });
    const evalBody = eventBody("eval.run.succeeded", { data: { id: "evalrun_1" } });
    const evalId = JSON.parse(evalBody).id as string;
    await publishEvent(js, topology, evalBody);
    const acmeBody = JSON.stringify({
      type: "invoice.paid",
      timestamp: new Date().toISOString(),
      data: { invoice: "in_1" },
    });
    await js.publish(providerEventSubject(topology, "acme", "invoice.paid"), acmeBody, {
      msgID: "acme_evt_1",
      headers: gatewayHeaders("acme_evt_1", "invoice.paid"),
    });

    await eventually(
      () =>
        receiver.on("/all-batch").length >= 2 &&
        receiver.on("/failed-only").length >= 2 &&
        receiver.on("/ft-handler").length >= 1 &&
        receiver.on("/raw-eval").length >= 1 &&
        receiver.on("/acme-only").length >= 1,
      { message: "every destination's events", timeoutMs: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(idsOn("/all-batch").sort()).toEqual([completed, failed].sort());
    expect(idsOn("/failed-only").sort()).toEqual([failed, ftFailed].sort());
    expect(idsOn("/ft-handler")).toEqual([ftFailed]);
    // the raw event, byte for byte, and nothing else of WEBHOOKS
    expect(receiver.on("/raw-eval").map((r) => r.raw)).toEqual([evalBody]);
    expect(idsOn("/raw-eval")).toEqual([evalId]);
    expect(receiver.on("/acme-only").map((r) => r.raw)).toEqual([acmeBody]);
    expect(receiver.on("/held")).toHaveLength(0);
  });

  it("sign with the destination's secret, carry its headers, a webhook-id per event and destination and the Idempotency-Key", async () => {
    const [first] = receiver.on("/all-batch");
    const headers = first?.headers as Record<string, string>;
    expect(new Webhook(SECRET).verify(first?.raw ?? "", headers)).toMatchObject({
      event_type: "batch.completed",
    });
    expect(headers["x-team"]).toBe("ml");
    expect(headers["idempotency-key"]).toBe((first?.body as { event_id?: string } | undefined)?.event_id);
    // an unsigned destination still gets webhook-id and webhook-timestamp
    const [raw] = receiver.on("/raw-eval");
    expect(raw?.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(raw?.headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(raw?.headers["webhook-signature"]).toBeUndefined();
  });
});

describe("the deploy hook", () => {
  it("is a destination: a succeeded job's { job_id, fine_tuned_model }, signed, and nothing for other types", async () => {
    const ok = await notify("fine-tuning", "fine_tuning.job.succeeded", {
      resource_type: "fine_tuning_job",
      resource_id: "ftjob-9",
      status: "succeeded",
      fine_tuned_model: "ft:gpt-4o:acme::9",
    });
    await eventually(() => receiver.on("/deploy").length >= 1, { message: "the deploy call" });
    const [call] = receiver.on("/deploy");
    expect(call?.body).toEqual({ job_id: "ftjob-9", fine_tuned_model: "ft:gpt-4o:acme::9" });
    expect(call?.headers["idempotency-key"]).toBe(ok);
    expect(new Webhook(SECRET).verify(call?.raw ?? "", call?.headers as Record<string, string>)).toBeTruthy();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.on("/deploy")).toHaveLength(1);
  });
});

describe("manual pause and resume", () => {
  it("hold a destination's events in the stream (nothing sent, nothing dead-lettered) and deliver them all on resume", async () => {
    const paused = await delivery.app.inject({
      method: "POST",
      url: "/admin/destinations/held/pause",
      headers: auth,
      payload: { reason: "receiver maintenance" },
    });
    expect(paused.statusCode).toBe(200);
    expect(DestinationStatus.parse(paused.json())).toMatchObject({
      state: "paused",
      reason: "paused by operator: receiver maintenance",
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await notify("response", "response.completed", { resource_type: "response", resource_id: `r${i}` }),
      );
    await new Promise((r) => setTimeout(r, 1_500));
    expect(receiver.on("/held")).toHaveLength(0);
    const list = DestinationList.parse(
      (await delivery.app.inject({ method: "GET", url: "/admin/destinations", headers: auth })).json(),
    );
    expect(list.destinations.find((d) => d.name === "held")).toMatchObject({ state: "paused", pending: 5 });

    const resumed = await delivery.app.inject({
      method: "POST",
      url: "/admin/destinations/held/resume",
      headers: auth,
    });
    expect(resumed.json()).toMatchObject({ state: "active" });
    await eventually(() => receiver.on("/held").length >= 5, { message: "the held events after resume" });
    expect(idsOn("/held").sort()).toEqual([...ids].sort());
    expect((await records()).filter((r) => r.destination === "held" && r.outcome !== "delivered")).toEqual(
      [],
    );
  });

  it("answers 404 for an unknown destination and 400 for a bad name; a test event reaches the receiver", async () => {
    expect(
      (await delivery.app.inject({ method: "POST", url: "/admin/destinations/nope/pause", headers: auth }))
        .statusCode,
    ).toBe(404);
    expect(
      (
        await delivery.app.inject({
          method: "POST",
          url: "/admin/destinations/Bad%20Name/pause",
          headers: auth,
        })
      ).statusCode,
    ).toBe(400);
    expect((await delivery.app.inject({ method: "GET", url: "/admin/destinations" })).statusCode).toBe(401);
    const test = await delivery.app.inject({
      method: "POST",
      url: "/admin/destinations/failed-only/test",
      headers: auth,
    });
    expect(DestinationTestResult.parse(test.json())).toMatchObject({
      name: "failed-only",
      ok: true,
      status_code: 200,
    });
    expect(
      receiver
        .on("/failed-only")
        .some((r) => (r.body as { event_type?: string }).event_type === "hookstream.test"),
    ).toBe(true);
  });
});

describe("the CLI", () => {
  it("lists the destinations with their state, pauses, resumes and sends a test event", async () => {
    const address = await delivery.app.listen({ port: 0, host: "127.0.0.1" });
    const env = { HOOKSTREAM_DELIVERY_URL: address, ADMIN_TOKEN };
    const paused = await runCli(["destinations", "pause", "ft-handler", "--reason", "maintenance"], env);
    expect(paused.code).toBe(0);
    expect(paused.out).toMatch(/ft-handler\s+paused/);
    const list = await runCli(["destinations"], env);
    expect(list.code).toBe(0);
    for (const d of destinations) expect(list.out).toContain(d.name);
    expect(list.out).toMatch(/ft-handler\s+paused[\s\S]*paused by operator: maintenance/);
    expect(list.out).toContain(`http://127.0.0.1:${receiver.port}/***`);
    expect((await runCli(["destinations", "resume", "ft-handler"], env)).out).toMatch(/ft-handler\s+active/);
    const test = await runCli(["destinations", "test", "all-batch"], env);
    expect(test).toMatchObject({ code: 0 });
    expect(test.out).toMatch(/all-batch: delivered \(200\)/);
    expect((await runCli(["destinations", "test", "nope"], env)).code).toBe(1);
  });
});

describe("the DLQ", () => {
  it("gets an event only once the destination's retry policy is spent; every attempt is in the delivery log", async () => {
    const id = await notify("batch", "batch.expired", {
      resource_type: "batch",
      resource_id: "b9",
      status: "expired",
    });
    const dead = await eventually(
      async () => {
        const info = await jsm.streams.info(topology.streams.dlq);
        if (info.state.messages === 0) return undefined;
        const m = await jsm.streams.getMessage(topology.streams.dlq, {
          last_by_subj: `${topology.subjects.dlqPrefix}.delivery.dead.batch.expired`,
        });
        return m ?? undefined;
      },
      { message: "the dead letter", timeoutMs: 30_000 },
    );
    expect(dead.header.get(DlqHeader.EventId)).toBe(id);
    expect(dead.header.get(DlqHeader.Attempts)).toBe("3");
    expect(dead.header.get(DlqHeader.Error)).toMatch(/all 3 attempts failed; last: POST .* answered 500/);
    const mine = await eventually(async () => {
      const rs = (await records()).filter((r) => r.destination === "dead" && r.event_id === id);
      return rs.length >= 3 ? rs : undefined;
    });
    expect(mine.map((r) => [r.attempt, r.outcome, r.status_code])).toEqual([
      [1, "failed", 500],
      [2, "failed", 500],
      [3, "dead", 500],
    ]);
    expect(mine[0]?.url).toBe(`http://127.0.0.1:${receiver.port}/***`);
  });
});
