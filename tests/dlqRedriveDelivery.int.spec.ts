/**
 * Redriving a destination's dead letters (the delivery service's `dlq.delivery.<name>.<type>`):
 * the console's redrive by seq (`POST /admin/dlq/redrive`) and `hookstream dlq replay`
 * without `--handler` (`POST /admin/dlq/replay`) give the event back to that destination
 * alone, which delivers it once its receiver answers, and take it out of the DLQ only
 * once it was republished where a consumer takes it. Before, both sent it to
 * `replay.delivery.<name>.<type>`, which nothing consumed, and deleted it: lost.
 * Real NATS, Postgres, admin and delivery services; the receiver is a local HTTP double.
 */
import { AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import {
  DeliveryRecord,
  type DlqEntry,
  DlqHeader,
  DlqList,
  DlqRedriveResult,
  dlqSubject,
  NotificationHeader,
  ReplayHeader,
  replaySubject,
} from "@hookstream/contracts";
import { deliveryEnv, startDelivery } from "@hookstream/delivery";
import { publishNotification } from "@hookstream/handler-kit";
import { createLogger } from "@hookstream/observability";
import { serviceConfigSchema } from "@hookstream/runtime";
import { eventBody, eventually, NotificationReceiver, publishEvent, testInfra } from "@hookstream/testing";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";

const TOKEN = "dlq-redrive-admin-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const logger = createLogger({ name: "dlq-redrive-test", level: "silent" });
const infra = await testInfra(
  "dlqredrive",
  { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") },
  { ADMIN_TOKEN: TOKEN, DB_POOL_MAX: "2" },
);
const { topology, js, jsm } = infra;
const receiver = await NotificationReceiver.start();
infra.defer(() => receiver.close());

// the receivers that fail every request for now (503: a failed attempt, never a pause)
const failing = new Set<string>();
receiver.answerWith((path) => (failing.has(path) ? { status: 503 } : undefined));

const retry = { attempts: 2, backoffMs: [50], timeoutMs: 2_000 };
const destinations = [
  // two destinations take the same notifications: only the one that failed gets the redrive
  { name: "flaky", url: receiver.url("/flaky"), filter: { types: ["batch.failed"] }, retry },
  { name: "steady", url: receiver.url("/steady"), filter: { types: ["batch.failed"] }, retry },
  // raw events, in order per resource
  {
    name: "flaky-raw",
    url: receiver.url("/flaky-raw"),
    source: "events",
    ordering: "resource",
    filter: { types: ["eval.run.*"] },
    retry,
  },
];

const env = infra.env;
const admin = infra.track(await startAdmin(parseConfig(AdminConfigSchema, env), logger));
infra.track(
  await startDelivery(
    parseConfig(serviceConfigSchema("delivery", deliveryEnv), {
      ...env,
      DESTINATIONS: JSON.stringify(destinations),
      // a failing receiver spends attempts instead of pausing
      DELIVERY_BREAKER_FAILURES: "1000",
      DELIVERY_PARTITIONS: "2",
    }) as Parameters<typeof startDelivery>[0],
    logger,
  ),
);

afterAll(() => infra.close());

async function dlq(): Promise<DlqEntry[]> {
  const res = await admin.app.inject({ method: "GET", url: "/admin/dlq", headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return DlqList.parse(res.json()).messages;
}

/** The dead letter of one event, once it is there. */
const deadLetterOf = (eventId: string, not: number[] = []) =>
  eventually(async () => (await dlq()).find((e) => e.event_id === eventId && !not.includes(e.seq)), {
    message: `a dead letter of ${eventId}`,
  });

let adminAddress: Promise<string> | null = null;
/** The admin API on a free port, for the CLI (listening once). */
const adminUrl = () => {
  adminAddress ??= admin.app.listen({ port: 0, host: "127.0.0.1" });
  return adminAddress;
};

const deliveredTo = (path: string, eventId: string) =>
  receiver.on(path).filter((r) => {
    const b = r.body as { event_id?: string; id?: string };
    return (b.event_id ?? b.id) === eventId;
  });

async function records(eventId: string): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  const info = await jsm.streams.info(topology.streams.deliveries);
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(topology.streams.deliveries, { seq }).catch(() => null);
    const r = m ? DeliveryRecord.parse(m.json()) : null;
    if (r?.event_id === eventId) out.push(r);
  }
  return out;
}

describe("redriving a destination's dead letters", () => {
  it("POST /admin/dlq/redrive gives the event back to that destination alone; it dies again while the receiver fails, and is delivered once it answers", async () => {
    failing.add("/flaky");
    const id = `evt_redrive_${Date.now().toString(36)}`;
    await publishNotification(
      { js, topology },
      {
        handler: "batch",
        event: { id, type: "batch.failed" },
        body: { event_id: id, event_type: "batch.failed", resource_type: "batch", resource_id: "b1" },
        force: false,
      },
    );
    const first = await deadLetterOf(id);
    expect(first).toMatchObject({ handler: "delivery.flaky", event_type: "batch.failed", attempts: 2 });
    await eventually(() => deliveredTo("/steady", id).length === 1, { message: "steady got it" });

    // redriven while the receiver still fails: it goes through the policy again and comes back
    const again = await admin.app.inject({
      method: "POST",
      url: "/admin/dlq/redrive",
      headers: auth,
      payload: { seqs: [first.seq] },
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(DlqRedriveResult.parse(again.json())).toMatchObject({ replayed: 1, left: [] });
    const second = await deadLetterOf(id, [first.seq]);
    expect(second).toMatchObject({
      handler: "delivery.flaky",
      original_subject: first.original_subject,
      original_seq: first.original_seq,
    });
    expect((await dlq()).some((e) => e.seq === first.seq)).toBe(false);

    failing.delete("/flaky");
    const res = await admin.app.inject({
      method: "POST",
      url: "/admin/dlq/redrive",
      headers: auth,
      payload: { seqs: [second.seq] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(DlqRedriveResult.parse(res.json())).toMatchObject({ replayed: 1, left: [] });
    const [got] = await eventually(() => deliveredTo("/flaky", id).length > 0 && deliveredTo("/flaky", id), {
      message: "the redriven event delivered to flaky",
    });
    expect(got?.headers["idempotency-key"]).toBe(id);
    expect((await dlq()).some((e) => e.event_id === id)).toBe(false);
    // the other destination had it already: the redrive is not for it
    expect(deliveredTo("/steady", id)).toHaveLength(1);
    // every attempt in the delivery log, the redrives' included (their own record ids)
    const log = await eventually(async () => {
      const rs = (await records(id)).filter((r) => r.destination === "flaky");
      return rs.some((r) => r.outcome === "delivered") && rs;
    });
    expect(log.map((r) => r.outcome).sort()).toEqual(
      ["dead", "dead", "delivered", "failed", "failed"].sort(),
    );
    expect(new Set(log.map((r) => r.webhook_id)).size).toBe(1);
    expect(got?.headers["webhook-id"]).toBe(log[0]?.webhook_id);
  });

  it("hookstream dlq replay without --handler gives a raw event's dead letter back to its destination, which delivers it", async () => {
    failing.add("/flaky-raw");
    const body = eventBody("eval.run.failed", { data: { id: "evalrun_redrive" } });
    const id = JSON.parse(body).id as string;
    await publishEvent(js, topology, body);
    const dead = await deadLetterOf(id);
    expect(dead).toMatchObject({ handler: "delivery.flaky-raw", event_type: "eval.run.failed" });

    failing.delete("/flaky-raw");
    const cli = await runCli(["dlq", "replay"], {
      HOOKSTREAM_ADMIN_URL: await adminUrl(),
      ADMIN_TOKEN: TOKEN,
    });
    expect(cli.code, cli.err).toBe(0);
    expect(cli.out).toMatch(new RegExp(`replayed ${id} → delivery\\.flaky-raw`));
    const [got] = await eventually(
      () => deliveredTo("/flaky-raw", id).length > 0 && deliveredTo("/flaky-raw", id),
      { message: "the redriven raw event delivered" },
    );
    // the raw body, byte for byte, and the same webhook-id as its attempts before
    expect(got?.raw).toBe(body);
    const dead2 = (await records(id)).find((r) => r.outcome === "dead");
    expect(got?.headers["webhook-id"]).toBe(dead2?.webhook_id);
    expect((await dlq()).some((e) => e.event_id === id)).toBe(false);
  });

  it("delivers what a redrive before this fix left on replay.delivery.<name>.<type> (nothing consumed it then)", async () => {
    // as the old admin published it: the original headers without Nats-Msg-Id, and Replay-*
    const id = "evt_redriven_before_the_fix";
    const h = natsHeaders();
    h.set(NotificationHeader.EventId, id);
    h.set(NotificationHeader.EventType, "batch.failed");
    h.set(ReplayHeader.Target, "delivery.flaky");
    h.set(ReplayHeader.Force, "false");
    await js.publish(
      replaySubject(topology, "delivery.flaky", "batch.failed"),
      JSON.stringify({ event_id: id, event_type: "batch.failed" }),
      { headers: h },
    );
    const [got] = await eventually(() => deliveredTo("/flaky", id).length > 0 && deliveredTo("/flaky", id), {
      message: "the old redrive delivered to flaky",
    });
    expect(got?.headers["idempotency-key"]).toBe(id);
    expect(deliveredTo("/steady", id)).toHaveLength(0);
  });

  it("leaves a dead letter nothing would take back in the DLQ, and says so (both routes, and the CLI exits 1)", async () => {
    // a destination no delivery instance has (removed from DESTINATIONS since it died)
    const h = natsHeaders();
    const id = "evt_gone_destination";
    h.set(DlqHeader.Handler, "delivery.gone");
    h.set(DlqHeader.EventId, id);
    h.set(DlqHeader.EventType, "batch.failed");
    h.set(DlqHeader.Attempts, "12");
    h.set(DlqHeader.Error, "all 12 attempts failed");
    h.set(DlqHeader.OriginalSubject, `${topology.subjects.notificationsPrefix}.batch.batch.failed`);
    h.set(DlqHeader.OriginalSeq, "1");
    await js.publish(
      dlqSubject(topology, "delivery.gone", "batch.failed"),
      JSON.stringify({ event_id: id }),
      {
        headers: h,
      },
    );
    const dead = await deadLetterOf(id);

    const bySeq = await admin.app.inject({
      method: "POST",
      url: "/admin/dlq/redrive",
      headers: auth,
      payload: { seqs: [dead.seq] },
    });
    expect(bySeq.statusCode, bySeq.body).toBe(200);
    const r1 = DlqRedriveResult.parse(bySeq.json());
    expect(r1).toMatchObject({ replayed: 0, messages: [] });
    expect(r1.left).toEqual([
      expect.objectContaining({ seq: dead.seq, reason: expect.stringMatching(/gone/) }),
    ]);

    const all = await admin.app.inject({
      method: "POST",
      url: "/admin/dlq/replay",
      headers: auth,
      payload: {},
    });
    expect(all.statusCode, all.body).toBe(200);
    expect(DlqRedriveResult.parse(all.json()).left.map((e) => e.seq)).toEqual([dead.seq]);

    const cli = await runCli(["dlq", "replay"], {
      HOOKSTREAM_ADMIN_URL: await adminUrl(),
      ADMIN_TOKEN: TOKEN,
    });
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(/left evt_gone_destination \(delivery\.gone\) in the DLQ: .*"gone"/);

    expect((await dlq()).map((e) => e.seq)).toContain(dead.seq);
  });
});
