import { parseConfig } from "@hookstream/config";
import { jobSubject } from "@hookstream/contracts";
import { eventually, testInfra } from "@hookstream/testing";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { jobSnapshot } from "../testing/jobSnapshot";
import { FineTuneConfigSchema } from "./config";
import { type FineTuneService, startFineTune } from "./startFineTune";

// issue 8, defect 4: two instances asked to rebuild at once both dropped and filled
// fine_tune_jobs_rebuild, and one could swap in a partial table
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const infra = await testInfra("ftlock", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, db, natsUrl, js } = infra;
const ADMIN_TOKEN = "rebuild-lock-token";
const config = parseConfig(FineTuneConfigSchema, {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  ADMIN_TOKEN,
  LOG_LEVEL: "silent",
});
const services: FineTuneService[] = [
  infra.track(await startFineTune(config, logger)),
  infra.track(await startFineTune(config, logger)),
];
const sql = new pg.Client({ connectionString: db.url });
await sql.connect();
infra.defer(() => sql.end());

afterAll(() => infra.close());

const rebuild = (s: FineTuneService) =>
  s.app.inject({
    method: "POST",
    url: "/admin/rebuild",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });

describe("two rebuilds at once (issue 8, defect 4)", () => {
  it("refuses a second rebuild while one runs (409)", async () => {
    for (let i = 0; i < 20; i++) {
      const snapshot = jobSnapshot(`ftjob-lock-${i % 4}`, `evt_lock_${i}`, { eventAt: 1_750_000_000 + i });
      await js.publish(jobSubject(topology, snapshot.job.id), JSON.stringify(snapshot), {
        msgID: snapshot.event_id,
      });
    }
    await eventually(async () => (await sql.query("SELECT 1 FROM fine_tune_jobs")).rowCount === 4, {
      message: "the live projection",
    });

    // Hold the live table so that the first rebuild stops at its swap, still running:
    // no timing decides the outcome, only whether the first one holds the rebuild.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE fine_tune_jobs IN ACCESS EXCLUSIVE MODE");
    const first = rebuild(services[0]!);
    await eventually(
      async () =>
        (
          await sql.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE fine_tune_jobs%'",
          )
        ).rowCount === 1,
      { message: "the first rebuild waiting at its swap" },
    );

    const second = await rebuild(services[1]!);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toEqual({
      error: "rebuild_running",
      message: expect.stringMatching(/already running/),
    });
    const sameInstance = await rebuild(services[0]!);
    expect(sameInstance.statusCode).toBe(409);

    await holder.query("COMMIT");
    await holder.end();
    const done = await first;
    expect(done.statusCode).toBe(200);
    expect(done.body).toMatch(/"result":\{"snapshots":20,"jobs":4/);

    // the lock goes with the rebuild: the next one runs
    const again = await rebuild(services[1]!);
    expect(again.statusCode).toBe(200);
    expect(again.body).toMatch(/"result":\{"snapshots":20,"jobs":4/);
  });
});
