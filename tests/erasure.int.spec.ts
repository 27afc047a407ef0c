/**
 * Erasure end to end (issue 13 item 3): the audit, the fine-tuning handler and the
 * fine-tune projection run on real NATS and Postgres; `hookstream erase` (the CLI's
 * `main(argv)`) removes one job from every store, and a rebuild of the projection
 * afterwards does not bring it back.
 */
import { type Admin, AdminConfigSchema, eraseEverywhere, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import { DlqHeader, dlqSubject, type ErasureResult, eventBody, replaySubject } from "@hookstream/contracts";
import { deliveryConfig, startDelivery } from "@hookstream/delivery";
import { FineTuneConfigSchema, type FineTuneService, startFineTune } from "@hookstream/fine-tune";
import { fineTuningHandler } from "@hookstream/fine-tuning-handler";
import { type HandlerConfig, handlerConfigSchema, startHandler } from "@hookstream/handler-kit";
import { deadLetter } from "@hookstream/messaging";
import { eventually, NotificationReceiver, publishEvent, testInfra } from "@hookstream/testing";
import { DeliverPolicy, JetStreamApiError } from "@nats-io/jetstream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const TOKEN = "erasure-test-token";
const logger = pino({ level: "silent" });
const infra = await testInfra(
  "era",
  { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") },
  { ADMIN_TOKEN: TOKEN },
);
const { topology, db, js, jsm } = infra;
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
infra.defer(() => sql.end());
let admin: Admin;
let fineTune: FineTuneService;
let env: Record<string, string>;
// the handler notifies here: the delivery log (rows and WEBHOOK_DELIVERIES) must be erased too
const receiver = await NotificationReceiver.start();
infra.defer(() => receiver.close());

// a value only the erased job's payloads hold: found nowhere afterwards
const SECRET_MODEL = "gpt-4o-mini:acme-private-7f3a";
const ERASED = ["evt_era_1", "evt_era_2"];
const KEPT = "evt_keep_1";

beforeAll(async () => {
  infra.track(
    await startAudit(parseConfig(AuditConfigSchema, { ...infra.env, AUDIT_MAX_NAK_DELAY_MS: "400" }), logger),
  );
  admin = infra.track(await startAdmin(parseConfig(AdminConfigSchema, infra.env), logger));
  infra.track(
    await startHandler(
      fineTuningHandler,
      parseConfig(handlerConfigSchema("FINE_TUNING_HANDLER_PORT", 3002), {
        ...infra.env,
        HANDLER_ACK_WAIT_MS: "3000",
      }) as HandlerConfig,
      logger,
    ),
  );
  infra.track(
    await startDelivery(deliveryConfig({ ...infra.env, NOTIFY_URLS: receiver.url("/notify") }), logger),
  );
  fineTune = infra.track(await startFineTune(parseConfig(FineTuneConfigSchema, infra.env), logger));
  const address = await admin.app.listen({ port: 0, host: "127.0.0.1" });
  env = { HOOKSTREAM_ADMIN_URL: address, ADMIN_TOKEN: TOKEN };
});

afterAll(() => infra.close());

const cli = (argv: string[]) => runCli(argv, env);

const rows = async (query: string, params: unknown[] = []) => (await sql.query(query, params)).rows;
const statusOf = async (id: string) =>
  (await rows("SELECT status FROM webhook_events WHERE event_id = $1", [id]))[0]?.status as
    | string
    | undefined;

/** Every message of a stream as text (data and headers): the test streams are small. */
async function streamText(stream: string): Promise<string[]> {
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return [];
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const out: string[] = [];
  const batch = await consumer.fetch({ max_messages: info.state.messages, expires: 2_000 });
  for await (const m of batch) {
    const headers = m.headers
      ? [...m.headers.keys()].map((k) => `${k}: ${m.headers?.get(k)}`).join("\n")
      : "";
    out.push(`${m.subject}\n${headers}\n${m.string()}`);
  }
  await consumer.delete().catch(() => {});
  return out;
}

function job(id: string, status: string) {
  return { id, object: "fine_tuning.job", status, model: SECRET_MODEL, fine_tuned_model: null };
}

describe("hookstream erase --resource fine_tuning_job:<id>", () => {
  it("removes every copy of the job from every store, records the erasure, and a rebuild does not bring it back", async () => {
    const now = Math.floor(Date.now() / 1000);
    const seqs: number[] = [];
    for (const [i, id] of ERASED.entries()) {
      const type = i === 0 ? "fine_tuning.job.failed" : "fine_tuning.job.succeeded";
      const body = eventBody(type, { id, createdAt: now + i, data: { id: "ftjob-erase" } });
      // the webhook's data is what the snapshot is built from without an API key
      const withJob = JSON.stringify({
        ...JSON.parse(body),
        data: job("ftjob-erase", i === 0 ? "failed" : "succeeded"),
      });
      seqs.push((await publishEvent(js, topology, withJob)).seq);
    }
    await publishEvent(
      js,
      topology,
      eventBody("fine_tuning.job.succeeded", { id: KEPT, data: { id: "ftjob-keep" } }),
    );
    await eventually(
      async () => {
        for (const id of [...ERASED, KEPT]) if ((await statusOf(id)) !== "processed") return false;
        const jobs = await rows("SELECT openai_job_id FROM fine_tune_jobs");
        return jobs.length === 2;
      },
      { message: "every event processed and both jobs projected" },
    );
    // copies elsewhere: a forced replay (WEBHOOK_REPLAYS) and a dead letter left by an earlier attempt
    const replayed = await cli(["replay", "evt_era_1", "--force"]);
    expect(replayed.code, replayed.err).toBe(0);
    const original = await jsm.streams.getMessage(topology.streams.webhooks, { seq: seqs[1] ?? 0 });
    await deadLetter(js, topology, {
      handler: "fine-tuning",
      eventId: "evt_era_2",
      eventType: "fine_tuning.job.succeeded",
      data: original?.data ?? new Uint8Array(),
      headers: original?.header,
      originalSubject: original?.subject ?? "",
      originalSeq: seqs[1] ?? 0,
      attempts: 8,
      error: "retryable: OpenAI 503",
      at: new Date(),
    });
    // a destination's copies: its dead letter of the raw event, and that dead letter redriven
    // (a destination no delivery instance has here, so the redrive waits on WEBHOOK_REPLAYS)
    const first = await jsm.streams.getMessage(topology.streams.webhooks, { seq: seqs[0] ?? 0 });
    await deadLetter(js, topology, {
      handler: "delivery.gone",
      eventId: "evt_era_1",
      eventType: "fine_tuning.job.failed",
      data: first?.data ?? new Uint8Array(),
      headers: first?.header,
      originalSubject: first?.subject ?? "",
      originalSeq: seqs[0] ?? 0,
      attempts: 12,
      error: "all 12 attempts failed",
      at: new Date(),
    });
    await js.publish(replaySubject(topology, "delivery.gone", "fine_tuning.job.failed"), first?.data ?? "", {
      headers: first?.header,
    });

    const dry = await cli(["erase", "--resource", "fine_tuning_job:ftjob-erase", "--dry-run", "--json"]);
    expect(dry.code, dry.err).toBe(0);
    const counted = JSON.parse(dry.out) as ErasureResult;
    expect(counted).toMatchObject({
      dry_run: true,
      erasure_id: null,
      event_ids: ERASED,
      counts: {
        webhook_events: 2,
        webhooks: 2,
        replays: 2,
        dlq: 2,
        fine_tuning: 2,
        inbox: { "fine-tuning": 2 },
        fine_tune_jobs: 1,
      },
      truncated: [],
    });
    // two first outcomes and the forced replay's
    expect(counted.counts.outcomes).toBe(3);
    // each handled event was notified once at least, and its attempts are on the timeline
    expect(counted.counts.deliveries).toBeGreaterThanOrEqual(2);
    expect(counted.counts.webhook_attempts).toBeGreaterThanOrEqual(2);
    // a dry run removes nothing
    expect(await statusOf("evt_era_1")).toBe("processed");
    expect((await streamText(topology.streams.dlq)).length).toBe(2);

    const erased = await cli(["erase", "--resource", "fine_tuning_job:ftjob-erase"]);
    expect(erased.code, erased.err).toBe(0);
    expect(erased.out).toMatch(/^erased \(erasure #\d+, by admin\)\n/);
    expect(erased.out).toMatch(/WEBHOOK_OUTCOMES\s+3\n/);

    // every store: nothing of the job, its events or its payloads
    expect(
      await rows("SELECT 1 FROM webhook_events WHERE event_id = ANY($1) OR resource_id = 'ftjob-erase'", [
        ERASED,
      ]),
    ).toEqual([]);
    expect(await rows("SELECT 1 FROM webhook_attempts WHERE event_id = ANY($1)", [ERASED])).toEqual([]);
    expect(await rows("SELECT 1 FROM webhook_deliveries WHERE event_id = ANY($1)", [ERASED])).toEqual([]);
    for (const seq of seqs) {
      const gone = await jsm.streams.getMessage(topology.streams.webhooks, { seq }).catch((err: unknown) => {
        if (err instanceof JetStreamApiError && err.status === 404) return null;
        throw err;
      });
      expect(gone).toBeNull();
    }
    for (const stream of Object.values(topology.streams)) {
      for (const text of await streamText(stream)) {
        for (const needle of [...ERASED, "ftjob-erase", SECRET_MODEL]) expect(text).not.toContain(needle);
      }
    }
    expect(await rows("SELECT 1 FROM inbox_fine_tuning WHERE event_id = ANY($1)", [ERASED])).toEqual([]);
    expect(await rows("SELECT openai_job_id FROM fine_tune_jobs")).toEqual([{ openai_job_id: "ftjob-keep" }]);

    // the record: what, how many, who, when; never a payload
    const [record] = await rows("SELECT target, event_ids, counts, actor, erased_at FROM erasures");
    expect(record).toMatchObject({
      target: { resource_type: "fine_tuning_job", resource_id: "ftjob-erase" },
      event_ids: ERASED,
      counts: { webhook_events: 2, webhooks: 2, replays: 2, dlq: 2, outcomes: 3, fine_tuning: 2 },
      actor: "admin",
    });
    expect(record.erased_at).toBeInstanceOf(Date);
    expect(JSON.stringify(record)).not.toContain(SECRET_MODEL);

    // the other job is untouched
    expect(await statusOf(KEPT)).toBe("processed");
    expect((await streamText(topology.streams.webhooks)).some((t) => t.includes(KEPT))).toBe(true);
    expect((await streamText(topology.streams.dlq)).some((t) => t.includes(DlqHeader.EventId))).toBe(false);

    // a rebuild of the projection from FINE_TUNING does not bring the job back
    const rebuild = await fineTune.app.inject({
      method: "POST",
      url: "/admin/rebuild",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(rebuild.statusCode).toBe(200);
    expect(rebuild.body).toMatch(/"result"/);
    expect(await rows("SELECT openai_job_id FROM fine_tune_jobs")).toEqual([{ openai_job_id: "ftjob-keep" }]);
  });

  it("erases one event by id, tolerates handlers whose inbox table does not exist, and says when nothing matched", async () => {
    const dry = await cli(["erase", "--event", KEPT, "--dry-run", "--json"]);
    expect(dry.code, dry.err).toBe(0);
    const counted = JSON.parse(dry.out) as ErasureResult;
    // only the fine-tuning handler ran here: no inbox_batch, no inbox_response
    expect(counted.counts.inbox).toEqual({ "fine-tuning": 1 });
    expect(counted.counts).toMatchObject({
      webhook_events: 1,
      webhooks: 1,
      fine_tuning: 1,
      fine_tune_jobs: 1,
    });

    const erased = await cli(["erase", "--event", KEPT, "--json"]);
    const result = JSON.parse(erased.out) as ErasureResult;
    expect(result.erasure_id).toEqual(expect.any(Number));
    expect(await statusOf(KEPT)).toBeUndefined();
    expect(await rows("SELECT openai_job_id FROM fine_tune_jobs")).toEqual([]);

    const none = await cli(["erase", "--event", "evt_never_seen", "--dry-run", "--json"]);
    expect(JSON.parse(none.out).counts).toMatchObject({
      webhook_events: 0,
      webhooks: 0,
      outcomes: 0,
      dlq: 0,
    });

    const usage = await cli(["erase", "--resource", "no-colon"]);
    expect(usage.code).toBe(2);
    const both = await cli(["erase"]);
    expect(both.code).toBe(2);
    const api = await admin.app.inject({
      method: "POST",
      url: "/admin/erase",
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { resourceType: "batch" },
    });
    expect(api.statusCode).toBe(400);
  });
});

describe("an erasure cut short by its scan bound (issue 21, item 12)", () => {
  it("keeps what a second run needs, and the second run by resource finishes it", async () => {
    const cut = ["evt_cut_1", "evt_cut_2"];
    for (const id of cut) {
      await publishEvent(js, topology, eventBody("batch.completed", { id, data: { id: "batch_cut" } }));
    }
    await eventually(
      async () => (await rows("SELECT 1 FROM webhook_events WHERE resource_id = 'batch_cut'")).length === 2,
      { message: "both audit rows of the resource" },
    );
    // copies of other events first, so that a bound of 3 stops each scan before the erased ones
    const copies = async (subject: string) => {
      for (let i = 0; i < 4; i++) {
        await js.publish(subject, eventBody("batch.completed", { id: `evt_other_${i}` }));
      }
      for (const id of cut) await js.publish(subject, eventBody("batch.completed", { id }));
    };
    await copies(replaySubject(topology, "batch", "batch.completed"));
    await copies(dlqSubject(topology, "batch", "batch.completed"));

    const run = () =>
      eraseEverywhere(
        { em: admin.orm.em.fork(), js, jsm, topology, now: () => new Date() },
        { resourceType: "batch", resourceId: "batch_cut" },
        { dryRun: false, actor: "admin", scanLimit: 3 },
      );
    const first = await run();
    expect(first.truncated).toEqual(expect.arrayContaining([topology.streams.replays, topology.streams.dlq]));
    expect(first.event_ids).toEqual(cut);
    // run again until no scan hits its bound (each run reads at most 3 messages per scan)
    const later: ErasureResult[] = [];
    for (let i = 0; i < 30 && (later.at(-1) ?? first).truncated.length > 0; i++) later.push(await run());
    expect(later.length).toBeGreaterThan(0);
    expect(later.at(-1)?.truncated).toEqual([]);
    // the second run still knew the resource's events, though their audit rows were gone
    expect(later[0]?.event_ids).toEqual(cut);
    expect(later.reduce((n, r) => n + r.counts.replays, first.counts.replays)).toBe(2);
    expect(later.reduce((n, r) => n + r.counts.dlq, first.counts.dlq)).toBe(2);

    for (const stream of [topology.streams.replays, topology.streams.dlq]) {
      const left = await streamText(stream);
      for (const id of cut)
        expect(
          left.some((t) => t.includes(id)),
          `${stream} ${id}`,
        ).toBe(false);
      // the other events' copies stay
      for (let i = 0; i < 4; i++) expect(left.some((t) => t.includes(`evt_other_${i}`))).toBe(true);
    }
    // once finished, a run starts afresh: nothing of the resource is left to find
    const after = await run();
    expect(after).toMatchObject({ event_ids: [], truncated: [] });
  });
});
