import { AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { FineTuneConfigSchema, startFineTune } from "@hookstream/fine-tune";
import type { ShutdownStep } from "@hookstream/runtime";
import {
  createTestDatabase,
  deleteStreams,
  freePort,
  ServiceProcess,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

// Issue 8, defect 7: one constant-time admin check everywhere, failed tokens rate limited,
// the job API behind the admin token unless FINE_TUNE_API_PUBLIC, every host variable honoured.
const logger = pino({ level: "silent" });
const topology = testTopology("adminsurf");
const db = await createTestDatabase(inject("databaseUrl"), "adminsurf");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const jsm = await jetstreamManager(nc);
const TOKEN = "admin-surface-token";
const base = {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  ADMIN_TOKEN: TOKEN,
  ADMIN_FAILURE_BURST: "3",
  LOG_LEVEL: "silent",
};
const running: ShutdownStep[][] = [];
const fineTune = await startFineTune(parseConfig(FineTuneConfigSchema, base), logger);
const publicJobs = await startFineTune(
  parseConfig(FineTuneConfigSchema, { ...base, FINE_TUNE_API_PUBLIC: "true" }),
  logger,
);
// the audit migrates the tables the admin service reads
const audit = await startAudit(parseConfig(AuditConfigSchema, base), logger);
const admin = await startAdmin(parseConfig(AdminConfigSchema, base), logger);
running.push(fineTune.steps, publicJobs.steps, admin.steps, audit.steps);

afterAll(async () => {
  for (const steps of running) for (const s of steps) await s.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await db.drop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("the admin surface (defect 7)", () => {
  it("puts the fine-tune job API behind the admin token unless FINE_TUNE_API_PUBLIC=true", async () => {
    const none = await fineTune.app.inject({ url: "/fine-tune-jobs" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "unauthorized" });
    expect((await fineTune.app.inject({ url: "/fine-tune-jobs", headers: bearer("nope") })).statusCode).toBe(
      403,
    );
    expect((await fineTune.app.inject({ url: "/fine-tune-jobs", headers: bearer(TOKEN) })).statusCode).toBe(
      200,
    );
    expect((await publicJobs.app.inject({ url: "/fine-tune-jobs" })).statusCode).toBe(200);
  });

  it("checks the rebuild route's token with the shared check: a wrong token of the same length is refused", async () => {
    const wrong = TOKEN.replace(/.$/, "X");
    const res = await publicJobs.app.inject({
      method: "POST",
      url: "/admin/rebuild",
      headers: bearer(wrong),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: "forbidden" });
  });

  it("rate limits failed admin tokens per address, like failed signatures, and still lets the right token in", async () => {
    for (const app of [admin.app, fineTune.app]) {
      const url = app === admin.app ? "/admin/events" : "/fine-tune-jobs";
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        codes.push(
          (await app.inject({ url, headers: bearer(`wrong-${i}`), remoteAddress: "10.9.9.9" })).statusCode,
        );
      }
      expect(codes).toEqual([403, 403, 403, 429, 429]);
      const limited = await app.inject({ url, headers: bearer("wrong"), remoteAddress: "10.9.9.9" });
      expect(limited.headers["retry-after"]).toBeDefined();
      expect(limited.json()).toMatchObject({ error: "rate_limited" });
      // another address, and the right token, are not affected
      expect((await app.inject({ url, headers: bearer("x"), remoteAddress: "10.9.9.10" })).statusCode).toBe(
        403,
      );
      expect((await app.inject({ url, headers: bearer(TOKEN), remoteAddress: "10.9.9.9" })).statusCode).toBe(
        200,
      );
    }
  });

  it("binds the audit to AUDIT_HOST", async () => {
    const port = await freePort();
    const svc = new ServiceProcess({
      service: "audit",
      host: "127.0.0.2",
      port,
      env: { ...base, AUDIT_PORT: String(port), AUDIT_HOST: "127.0.0.2", LOG_LEVEL: "warn" },
    });
    try {
      await svc.ready(30_000);
      const elsewhere = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => "refused",
      );
      expect(elsewhere).toBe("refused");
    } finally {
      await svc.terminate();
    }
  });
});
