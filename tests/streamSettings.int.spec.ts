import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { FineTuneConfigSchema, startFineTune } from "@hookstream/fine-tune";
import { GatewayConfig, startGateway } from "@hookstream/gateway";
import type { ShutdownStep } from "@hookstream/runtime";
import { createTestDatabase, deleteStreams, testTopology } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

// Issue 8, defect 1: a consumer's start or restart must never revert the streams' settings.
const topology = testTopology("streamset");
const db = await createTestDatabase(inject("databaseUrl"), "streamset");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const jsm = await jetstreamManager(nc);
const lines: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: "warn" },
  { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
);
const running: ShutdownStep[][] = [];

const NINETY_DAYS_MS = 90 * 24 * 60 * 60 * 1000;
const ONE_DAY_MS = 24 * 60 * 60 * 1000;
const base = {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  LOG_LEVEL: "warn",
};

afterAll(async () => {
  for (const steps of running.reverse()) for (const s of steps) await s.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await db.drop();
});

describe("stream settings (defect 1)", () => {
  it("keep the gateway's max age and duplicate window when consumers start and restart with other settings", async () => {
    const gateway = await startGateway(
      parseConfig(GatewayConfig, {
        ...base,
        WEBHOOK_MAX_AGE_MS: String(NINETY_DAYS_MS),
        WEBHOOK_DUPLICATE_WINDOW_MS: String(ONE_DAY_MS),
      }),
      logger,
    );
    running.push([
      { name: "http", close: () => gateway.app.close() },
      { name: "nats", close: () => gateway.nc.drain() },
    ]);

    // consumers started without those variables: the defaults (30 days, 2 hours) — twice, as a restart
    for (let round = 0; round < 2; round++) {
      const audit = await startAudit(parseConfig(AuditConfigSchema, base), logger);
      const fineTune = await startFineTune(parseConfig(FineTuneConfigSchema, base), logger);
      running.push(audit.steps, fineTune.steps);
    }

    const info = await jsm.streams.info(topology.streams.webhooks);
    expect(info.config.max_age).toBe(nanos(NINETY_DAYS_MS));
    expect(info.config.duplicate_window).toBe(nanos(ONE_DAY_MS));
    // the consumers said what they left alone
    const differs = lines.filter((l) => String(l.msg).startsWith("stream settings differ"));
    expect(differs.length).toBeGreaterThanOrEqual(4);
    expect(differs.map((l) => l.stream)).toContain(topology.streams.webhooks);
  });

  it("are changed by the gateway, the streams' owner, which logs the change", async () => {
    lines.length = 0;
    const gateway = await startGateway(
      parseConfig(GatewayConfig, { ...base, WEBHOOK_MAX_AGE_MS: String(2 * ONE_DAY_MS) }),
      logger,
    );
    running.push([
      { name: "http", close: () => gateway.app.close() },
      { name: "nats", close: () => gateway.nc.drain() },
    ]);
    const info = await jsm.streams.info(topology.streams.webhooks);
    expect(info.config.max_age).toBe(nanos(2 * ONE_DAY_MS));
    const changed = lines.find((l) => l.msg === "stream settings changed to match the configuration");
    expect(changed).toMatchObject({
      stream: topology.streams.webhooks,
      diff: { max_age: { live: nanos(NINETY_DAYS_MS), wanted: nanos(2 * ONE_DAY_MS) } },
    });
  });
});
