import { applyOutcome, type OutcomeFields, WebhookEvent } from "@hookstream/audit-store";
import { DURABLES, type Outcome, outcomeSubject, UNHANDLED_EVENT_TYPE } from "@hookstream/contracts";
import { createLogger } from "@hookstream/observability";
import { eventBody, eventually, publishEvent, testInfra } from "@hookstream/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testAuditConfig } from "../testing/testAuditConfig";
import { recordOutcomes } from "./outcomes/recordOutcomes";
import { type Audit, startAudit } from "./startAudit";

const TOKEN = "test-admin-token";
const infra = await testInfra("audit", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, db, natsUrl, js, jsm } = infra;
const logger = createLogger({ name: "audit-test", level: "silent" });
let audit: Audit;

beforeAll(async () => {
  audit = infra.track(
    await startAudit(testAuditConfig({ natsUrl, databaseUrl: db.url, topology, adminToken: TOKEN }), logger),
  );
});

afterAll(() => infra.close());

// undefined, not null, while missing: eventually() waits for a value that is not undefined
const rowOf = async (eventId: string) =>
  (await audit.orm.em.fork().findOne(WebhookEvent, { eventId })) ?? undefined;
const countOf = (eventId: string) => audit.orm.em.fork().count(WebhookEvent, { eventId });

function outcome(eventId: string, status: Outcome["status"], attempt: number, error: string | null = null) {
  return {
    event_id: eventId,
    event_type: "batch.completed",
    handler: "batch",
    status,
    attempt,
    error,
    at: new Date().toISOString(),
    stream_seq: null,
    replay: false,
  } satisfies Outcome;
}

describe("the audit consumer", () => {
  it("writes one row per event with the contract columns", async () => {
    const body = eventBody("fine_tuning.job.succeeded", { id: "evt_cols", data: { id: "ftjob-abc" } });
    const ack = await publishEvent(js, topology, body);
    const row = await eventually(() => rowOf("evt_cols"), { message: "the row" });
    expect(row).toMatchObject({
      eventType: "fine_tuning.job.succeeded",
      webhookId: "wh_evt_cols",
      signature: "v1,c2lnbmF0dXJl",
      status: "pending",
      retryCount: 0,
      resourceType: "fine_tuning_job",
      resourceId: "ftjob-abc",
      streamSeq: ack.seq,
      subject: `${topology.subjects.openaiPrefix}.fine_tuning.job.succeeded`,
    });
    expect(row?.timestamp?.toISOString()).toBe(new Date(1750861210 * 1000).toISOString());
    expect(row?.payload).toEqual(JSON.parse(body));
    expect(row?.headers?.["Event-Type"]).toBe("fine_tuning.job.succeeded");
    expect(row?.headers?.["Nats-Msg-Id"]).toBe("evt_cols");
  });

  it("keeps one row when the same event is re-published outside the duplicate window", async () => {
    const body = eventBody("batch.completed", { id: "evt_twice" });
    await publishEvent(js, topology, body, { msgID: "evt_twice" });
    await eventually(() => rowOf("evt_twice"));
    // another msg id is what a re-publish after the duplicate window looks like to the stream
    await publishEvent(js, topology, body, { msgID: "evt_twice-later" });
    await publishEvent(js, topology, eventBody("batch.completed", { id: "evt_after_twice" }));
    await eventually(() => rowOf("evt_after_twice"));
    expect(await countOf("evt_twice")).toBe(1);
  });

  it("records a type with no handler as ignored, and a body that is not JSON as { raw }", async () => {
    await publishEvent(js, topology, eventBody(UNHANDLED_EVENT_TYPE, { id: "evt_eval" }));
    await publishEvent(js, topology, "this is not json", { msgID: "evt_raw", type: "batch.failed" });
    expect((await eventually(() => rowOf("evt_eval")))?.status).toBe("ignored");
    const raw = await eventually(() => rowOf("evt_raw"));
    expect(raw).toMatchObject({ status: "pending", payload: { raw: "this is not json" } });
  });

  it("stores a body Postgres refuses as jsonb as { raw } and acks it, instead of retrying it forever", async () => {
    // JSON.parse takes it; jsonb refuses the lone surrogate escape
    const body = '{"id":"evt_surrogate","type":"batch.failed","data":{"id":"batch_1","note":"\\udc00"}}';
    await publishEvent(js, topology, body, { msgID: "evt_surrogate", type: "batch.failed" });
    await publishEvent(js, topology, eventBody("batch.failed", { id: "evt_beside" }));
    const row = await eventually(() => rowOf("evt_surrogate"));
    expect(row).toMatchObject({ status: "pending", payload: { raw: body }, resourceId: "batch_1" });
    expect(row?.metadata).toMatchObject({ unparsed: true });
    expect(await eventually(() => rowOf("evt_beside"))).toBeDefined();
    await eventually(async () => {
      const c = await jsm.consumers.info(topology.streams.webhooks, DURABLES.audit);
      return c.num_ack_pending === 0 && c.num_pending === 0 ? true : undefined;
    });
  });
});

describe("the outcomes fold", () => {
  it("folds failed, failed, processed into processed with retry_count 2", async () => {
    await publishEvent(js, topology, eventBody("batch.completed", { id: "evt_fold" }));
    await eventually(() => rowOf("evt_fold"));
    for (const o of [
      outcome("evt_fold", "failed", 1, "500"),
      outcome("evt_fold", "failed", 2, "500 again"),
      outcome("evt_fold", "processed", 3),
    ]) {
      await js.publish(outcomeSubject(topology, "batch", o.status), JSON.stringify(o));
    }
    const row = await eventually(async () => {
      const r = await rowOf("evt_fold");
      return r?.status === "processed" ? r : undefined;
    });
    expect(row).toMatchObject({ retryCount: 2, errorMessage: "500 again" });
    expect(row?.processedAt).toBeInstanceOf(Date);
  });

  it("keeps the status of outcomes that arrive before the event's own row", async () => {
    await js.publish(
      outcomeSubject(topology, "batch", "failed"),
      JSON.stringify(outcome("evt_early", "failed", 1, "boom")),
    );
    await js.publish(
      outcomeSubject(topology, "batch", "processed"),
      JSON.stringify(outcome("evt_early", "processed", 2)),
    );
    const placeholder = await eventually(async () => {
      const r = await rowOf("evt_early");
      return r?.status === "processed" ? r : undefined;
    });
    expect(placeholder.subject).toBeNull();
    const body = eventBody("batch.completed", { id: "evt_early", data: { id: "batch_9" } });
    await publishEvent(js, topology, body);
    const row = await eventually(async () => {
      const r = await rowOf("evt_early");
      return r?.subject ? r : undefined;
    });
    expect(row).toMatchObject({
      status: "processed",
      retryCount: 1,
      errorMessage: "boom",
      resourceId: "batch_9",
    });
    expect(row.payload).toEqual(JSON.parse(body));
    expect(await countOf("evt_early")).toBe(1);
  });

  it("applies the same rules in SQL as applyOutcome, in any order", async () => {
    const statuses = ["processed", "failed", "ignored", "dead"] as const;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ status: fc.constantFrom(...statuses), attempt: fc.integer({ min: 1, max: 6 }) }),
          { minLength: 1, maxLength: 6 },
        ),
        async (steps) => {
          const id = `evt_prop_${n++}`;
          const outcomes = steps.map((s, i) =>
            outcome(id, s.status, s.attempt, s.status === "failed" || s.status === "dead" ? `e${i}` : null),
          );
          await recordOutcomes(audit.orm.em.fork(), outcomes, new Date());
          const expected = outcomes.reduce<OutcomeFields | null>((r, o) => applyOutcome(r, o).row, null);
          const row = await rowOf(id);
          expect({
            status: row?.status,
            retryCount: row?.retryCount,
            errorMessage: row?.errorMessage ?? null,
            processedAt: row?.processedAt?.getTime() ?? null,
          }).toEqual({
            status: expected?.status,
            retryCount: expected?.retryCount,
            errorMessage: expected?.errorMessage,
            processedAt: expected?.processedAt?.getTime() ?? null,
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("the audit service", () => {
  it("answers /readyz and exposes the audit metrics", async () => {
    expect((await audit.app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    const metrics = (await audit.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/hookstream_audit_rows_inserted_total\{service="audit"\} \d+/);
    expect(metrics).toMatch(/hookstream_audit_duplicates_total/);
    expect(metrics).toMatch(/hookstream_consumer_pending\{[^}]*durable="audit"/);
  });
});
