/**
 * Senders beyond OpenAI (docs/webhooks.md, "Senders beyond OpenAI"): `POST /webhooks/<provider>` with
 * WEBHOOK_PROVIDERS, signed by a library that is not ours (`standardwebhooks`),
 * verified by the gateway, deduplicated by webhook-id, published to
 * `webhooks.<provider>.<type>` and audited with its provider, on real NATS and Postgres.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import { EventDetail, MessageHeader } from "@hookstream/contracts";
import { GatewayConfig, startGateway } from "@hookstream/gateway";
import {
  eventBody,
  eventually,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  testInfra,
} from "@hookstream/testing";
import pg from "pg";
import { pino } from "pino";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, inject, it } from "vitest";

const logger = pino({ level: "silent" });
const infra = await testInfra("prov", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, db, natsUrl, jsm } = infra;
const ADMIN_TOKEN = "providers-admin-token";

// a Standard Webhooks secret as such senders hand it out: whsec_ + base64 of random bytes
const ACME_SECRET = `whsec_${Buffer.from(randomUUID()).toString("base64")}`;
const ACME_OLD_SECRET = `whsec_${Buffer.from(randomUUID()).toString("base64")}`;
const PROVIDERS = [
  { name: "acme", secrets: [ACME_OLD_SECRET, ACME_SECRET], envelope: "standard", toleranceSec: 60 },
];
const common = { NATS_URL: natsUrl, HOOKSTREAM_NAMESPACE: topology.namespace, LOG_LEVEL: "silent" };

const gateway = infra.track(
  await startGateway(
    parseConfig(GatewayConfig, {
      ...common,
      OPENAI_WEBHOOK_SECRET: TEST_SECRET,
      WEBHOOK_PROVIDERS: JSON.stringify(PROVIDERS),
    }),
    logger,
  ),
);
await gateway.app.listen({ host: "127.0.0.1", port: 0 });
const gatewayUrl = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
infra.track(
  await startAudit(parseConfig(AuditConfigSchema, { ...common, DATABASE_URL: db.url, ADMIN_TOKEN }), logger),
);
const admin = infra.track(
  await startAdmin(parseConfig(AdminConfigSchema, { ...common, DATABASE_URL: db.url, ADMIN_TOKEN }), logger),
);
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
infra.defer(() => sql.end());

afterAll(() => infra.close());

/** A body and headers as the `standardwebhooks` library signs them. */
function standardSigned(type: string, data: Record<string, unknown>, opts: { at?: Date; id?: string } = {}) {
  const at = opts.at ?? new Date();
  const id = opts.id ?? `msg_${randomUUID().replaceAll("-", "")}`;
  const body = JSON.stringify({ type, timestamp: at.toISOString(), data });
  const headers = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(ACME_SECRET).sign(id, at, body),
  };
  return { id, body, headers };
}

function post(provider: string, body: string, headers: Record<string, string>) {
  return gateway.app.inject({ method: "POST", url: `/webhooks/${provider}`, payload: body, headers });
}

async function auditRow(eventId: string) {
  return eventually(
    async () =>
      (
        await sql.query(
          "SELECT event_id, event_type, provider, status, subject, webhook_id FROM webhook_events WHERE event_id = $1",
          [eventId],
        )
      ).rows[0] as
        | {
            event_id: string;
            event_type: string;
            provider: string;
            status: string;
            subject: string;
            webhook_id: string;
          }
        | undefined,
    { message: `the audit row of ${eventId}` },
  );
}

describe("POST /webhooks/<provider>", () => {
  it("accepts a Standard Webhooks event signed by the standardwebhooks library, publishes it to webhooks.<provider>.<type> with the webhook-id as msg id, and audits it with its provider as ignored", async () => {
    const { id, body, headers } = standardSigned("invoice.paid", { invoice: "in_1", amount: 4200 });
    const res = await post("acme", body, headers);
    expect(res.statusCode).toBe(200);
    const answer = res.json();
    expect(answer).toMatchObject({ status: "accepted", event_id: id });

    const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: answer.seq });
    expect(msg?.subject).toBe(`${topology.namespace}.webhooks.acme.invoice.paid`);
    // the dedup key is the provider and the id together (OpenAI's stays the bare id)
    expect(msg?.header.get(MessageHeader.MsgId)).toBe(`acme:${id}`);
    expect(msg?.header.get(MessageHeader.EventType)).toBe("invoice.paid");
    expect(new TextDecoder().decode(msg?.data)).toBe(body);

    // only OpenAI events have handlers: another provider's event is recorded as ignored
    const row = await auditRow(id);
    expect(row).toMatchObject({
      event_id: id,
      event_type: "invoice.paid",
      provider: "acme",
      status: "ignored",
      webhook_id: id,
      subject: msg?.subject,
    });
    const detail = await admin.app.inject({
      method: "GET",
      url: `/admin/events/${id}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(detail.statusCode).toBe(200);
    expect(EventDetail.parse(detail.json()).provider).toBe("acme");
  });

  it("stores a re-sent webhook-id once (dedup by the event id)", async () => {
    const first = standardSigned("invoice.paid", { invoice: "in_dup" });
    // the sender's retry: same id, a new timestamp and signature
    const retry = standardSigned(
      "invoice.paid",
      { invoice: "in_dup" },
      { id: first.id, at: new Date(Date.now() + 2_000) },
    );
    expect((await post("acme", first.body, first.headers)).json().status).toBe("accepted");
    const again = await post("acme", retry.body, retry.headers);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: "duplicate", event_id: first.id });
    await auditRow(first.id);
    const { rows } = await sql.query("SELECT count(*)::int AS n FROM webhook_events WHERE event_id = $1", [
      first.id,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it("keeps OpenAI at /webhooks/openai with its own secret and records provider openai", async () => {
    const body = eventBody("batch.completed", { data: { id: "batch_prov" } });
    const res = await post("openai", body, signWebhook(TEST_SECRET, body).headers);
    expect(res.statusCode).toBe(200);
    const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: res.json().seq });
    expect(msg?.subject).toBe(`${topology.subjects.openaiPrefix}.batch.completed`);
    expect((await auditRow(JSON.parse(body).id)).provider).toBe("openai");
  });

  it("answers 404 with the JSON error body for an unknown provider", async () => {
    const { body, headers } = standardSigned("invoice.paid", {});
    const res = await post("nobody", body, headers);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "unknown_provider", message: 'no webhook provider named "nobody"' });
  });

  it("refuses another provider's secret, a stale timestamp past the provider's tolerance, and a body without the standard envelope", async () => {
    const openaiSigned = eventBody("invoice.paid");
    expect(
      (await post("acme", openaiSigned, signWebhook(TEST_SECRET, openaiSigned).headers)).statusCode,
    ).toBe(401);

    // 120 s old: within the gateway's default 300 s, past acme's 60 s
    const stale = standardSigned("invoice.paid", {}, { at: new Date(Date.now() - 120_000) });
    const res = await post("acme", stale.body, stale.headers);
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe("stale_timestamp");

    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const noType = JSON.stringify({ timestamp: at.toISOString(), data: {} });
    const bad = await post("acme", noType, {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(ACME_SECRET).sign(id, at, noType),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: "invalid_envelope" });
    expect(bad.json().message).toMatch(/Standard Webhooks event: type/);
  });

  it("hookstream send --provider signs in the provider's envelope with its secret from WEBHOOK_PROVIDERS", async () => {
    const id = `msg_cli_${randomUUID().slice(0, 8)}`;
    const { code, out, err } = await runCli(
      ["send", "shipment.delivered", "--provider", "acme", "--id", id, "--data", '{"parcel":"p1"}'],
      { GATEWAY_URL: `${gatewayUrl}/webhooks/openai`, WEBHOOK_PROVIDERS: JSON.stringify(PROVIDERS) },
    );
    expect(code, out + err).toBe(0);
    expect(out).toMatch(/^200 .*"accepted"/);
    expect(await auditRow(id)).toMatchObject({
      provider: "acme",
      event_type: "shipment.delivered",
      status: "ignored",
    });
  });
});

describe("an event is its provider and its id (issue 21)", () => {
  const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  async function rowsOf(eventId: string, n: number) {
    return eventually(
      async () => {
        const { rows } = await sql.query(
          "SELECT provider, event_type FROM webhook_events WHERE event_id = $1 ORDER BY provider",
          [eventId],
        );
        return rows.length === n ? (rows as Array<{ provider: string; event_type: string }>) : undefined;
      },
      { message: `${n} audit rows of ${eventId}` },
    );
  }

  it("accepts and audits an acme event and then an OpenAI event with the same id, each its own", async () => {
    const id = `evt_${randomUUID().replaceAll("-", "")}`;
    const acme = standardSigned("invoice.paid", { invoice: "in_same" }, { id });
    const first = await post("acme", acme.body, acme.headers);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: "accepted", event_id: id });
    const body = eventBody("batch.completed", { id, data: { id: "batch_same" } });
    const second = await post("openai", body, signWebhook(TEST_SECRET, body).headers);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ status: "accepted", event_id: id });
    expect(second.json().seq).not.toBe(first.json().seq);

    expect(await rowsOf(id, 2)).toEqual([
      { provider: "acme", event_type: "invoice.paid" },
      { provider: "openai", event_type: "batch.completed" },
    ]);
    // the admin API tells them apart by provider, and asks for it when the id alone is ambiguous
    for (const provider of ["acme", "openai"]) {
      const detail = await admin.app.inject({
        method: "GET",
        url: `/admin/events/${id}?provider=${provider}`,
        headers: adminAuth,
      });
      expect(detail.statusCode).toBe(200);
      expect(EventDetail.parse(detail.json()).provider).toBe(provider);
    }
    const ambiguous = await admin.app.inject({
      method: "GET",
      url: `/admin/events/${id}`,
      headers: adminAuth,
    });
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json()).toMatchObject({ error: "ambiguous_event_id" });
  });

  it("refuses an id over 256 characters with 400 id_too_long: a webhook-id, an OpenAI event id, a resource id", async () => {
    const long = standardSigned("invoice.paid", {}, { id: `msg_${"x7Q".repeat(2_000)}` });
    expect(long.id).toHaveLength(6_004);
    const res = await post("acme", long.body, long.headers);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: "id_too_long",
      message: "webhook-id is 6004 characters long; at most 256",
    });

    const longId = eventBody("batch.completed", { id: `evt_${"a".repeat(300)}` });
    const openai = await post("openai", longId, signWebhook(TEST_SECRET, longId).headers);
    expect(openai.statusCode).toBe(400);
    expect(openai.json()).toMatchObject({
      error: "id_too_long",
      message: expect.stringMatching(/^the event id/),
    });

    const longResource = eventBody("fine_tuning.job.succeeded", { data: { id: `ftjob-${"b".repeat(300)}` } });
    const resource = await post("openai", longResource, signWebhook(TEST_SECRET, longResource).headers);
    expect(resource.statusCode).toBe(400);
    expect(resource.json()).toMatchObject({
      error: "id_too_long",
      message: expect.stringMatching(/resource id/),
    });
  });

  it("refuses an id that is not one subject token with 400 invalid_id", async () => {
    for (const id of ["evt.1", "evt*", "evt>", "evt 1"]) {
      const body = eventBody("batch.completed", { id });
      const res = await post("openai", body, signWebhook(TEST_SECRET, body).headers);
      expect(res.statusCode, id).toBe(400);
      expect(res.json(), id).toMatchObject({ error: "invalid_id" });
    }
    for (const jobId of [">", "*", "a.b", "ftjob-1 >"]) {
      const body = eventBody("fine_tuning.job.succeeded", { data: { id: jobId } });
      const res = await post("openai", body, signWebhook(TEST_SECRET, body).headers);
      expect(res.statusCode, jobId).toBe(400);
      expect(res.json(), jobId).toMatchObject({ error: "invalid_id" });
    }
    const dotted = standardSigned("invoice.paid", {}, { id: "msg.1" });
    expect((await post("acme", dotted.body, dotted.headers)).json()).toMatchObject({ error: "invalid_id" });
  });
});

describe("a bad WEBHOOK_PROVIDERS", () => {
  it("stops the gateway at start with a message naming the field", async () => {
    const gw = new ServiceProcess({
      service: "gateway",
      port: 0,
      env: {
        ...common,
        LOG_LEVEL: "info",
        GATEWAY_PORT: "0",
        WEBHOOK_PROVIDERS: JSON.stringify([{ name: "acme", secrets: [ACME_SECRET], envelope: "svix" }]),
      },
    });
    const exit = await gw.exit;
    expect(exit.code).not.toBe(0);
    expect(gw.output.join("\n")).toMatch(/WEBHOOK_PROVIDERS: \[0\] \\?"acme\\?" envelope/);
  });
});
