import { createLogger } from "@hookstream/observability";
import {
  deleteStreams,
  eventBody,
  eventually,
  PostgresProcess,
  publishEvent,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { testAuditConfig } from "../testing/testAuditConfig";
import { type Audit, startAudit } from "./startAudit";

const topology = testTopology("auditout");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const pg = await PostgresProcess.start();
let audit: Audit | undefined;

afterAll(async () => {
  for (const step of audit?.steps ?? []) await step.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await pg.destroy();
});

describe("the audit when Postgres goes away", () => {
  it("naks while Postgres is stopped and, once it is back, holds every event exactly once", async () => {
    const url = new URL(pg.url);
    url.pathname = "/hookstream_audit"; // created by the audit at start
    audit = await startAudit(
      testAuditConfig({ natsUrl, databaseUrl: url.toString(), topology }),
      createLogger({ name: "audit-outage", level: "silent" }),
    );
    const ids: string[] = [];
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = `evt_out_${ids.length}`;
        ids.push(id);
        await publishEvent(js, topology, eventBody("batch.completed", { id }));
      }
    };
    const count = async () =>
      Number(
        (
          (await audit!.orm.em
            .getConnection()
            .execute("select count(*) as n, count(distinct event_id) as d from webhook_events")) as Array<{
            n: string;
            d: string;
          }>
        )[0]?.n,
      );

    await publish(100);
    await eventually(async () => (await count()) >= 20, { message: "the first rows" });
    await pg.stop("immediate");
    await publish(200);
    // a few batches fail and are nak'd while Postgres is down
    await new Promise((r) => setTimeout(r, 1_500));
    await pg.start();
    await publish(100);

    await eventually(async () => (await count()) === ids.length, {
      timeoutMs: 30_000,
      message: `${ids.length} rows`,
    });
    const rows = (await audit.orm.em
      .getConnection()
      .execute("select event_id, count(*)::int as n from webhook_events group by event_id")) as Array<{
      event_id: string;
      n: number;
    }>;
    expect(rows.length).toBe(ids.length);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(ids));
    const metrics = (await audit.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/hookstream_audit_batch_failures_total\{[^}]*durable="audit"[^}]*\} [1-9]/);
  });
});
