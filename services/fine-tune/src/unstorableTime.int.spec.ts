import { parseConfig } from "@hookstream/config";
import { DURABLES, type JobSnapshot, jobSubject } from "@hookstream/contracts";
import { eventually, testInfra } from "@hookstream/testing";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { jobSnapshot } from "../testing/jobSnapshot";
import { FineTuneConfigSchema } from "./config";
import { parseSnapshot } from "./parseSnapshot";
import { rebuildProjection } from "./rebuildProjection";
import { type FineTuneService, startFineTune } from "./startFineTune";

const logger = pino({ level: "silent" });
const infra = await testInfra("ftt", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, db, natsUrl, jsm, js } = infra;
const sql = new pg.Pool({ connectionString: db.url, max: 1 });
infra.defer(() => sql.end());
const service: FineTuneService = infra.track(
  await startFineTune(
    parseConfig(FineTuneConfigSchema, {
      NATS_URL: natsUrl,
      DATABASE_URL: db.url,
      HOOKSTREAM_NAMESPACE: topology.namespace,
      LOG_LEVEL: "silent",
    }),
    logger,
  ),
);

afterAll(() => infra.close());

const snapshot = (jobId: string, eventId: string, job: Partial<JobSnapshot["job"]> = {}, eventAt?: number) =>
  jobSnapshot(jobId, eventId, { status: "succeeded", eventAt, job });

const jobIds = async () =>
  (await sql.query<{ id: string }>("SELECT openai_job_id AS id FROM fine_tune_jobs ORDER BY 1")).rows.map(
    (r) => r.id,
  );

describe("a job snapshot with a time Postgres cannot store", () => {
  // each is an integer the schema takes; timestamptz ends at 294276 AD
  const unstorable = [
    snapshot("ftjob-late-event", "evt_t1", {}, 10_000_000_000_000),
    snapshot("ftjob-late-finish", "evt_t2", { finished_at: 9_000_000_000_000_000 }),
    snapshot("ftjob-early-create", "evt_t3", { created_at: -300_000_000_000 }),
  ];

  it("is skipped by the live projection, which goes on with the rest instead of retrying it forever", async () => {
    for (const s of unstorable)
      await js.publish(jobSubject(topology, s.job.id), JSON.stringify(s), { msgID: s.event_id });
    const ok = snapshot("ftjob-ok", "evt_t4");
    await js.publish(jobSubject(topology, ok.job.id), JSON.stringify(ok), { msgID: ok.event_id });
    await eventually(async () => ((await jobIds()).includes("ftjob-ok") ? true : undefined));
    await eventually(async () => {
      const c = await jsm.consumers.info(topology.streams.fineTuning, DURABLES.fineTune);
      return c.num_pending === 0 && c.num_ack_pending === 0 ? true : undefined;
    });
    expect(await jobIds()).toEqual(["ftjob-ok"]);
  });

  it("is skipped by a rebuild alike, which completes", async () => {
    const result = await rebuildProjection({ orm: service.orm, js, jsm, topology });
    expect(result.jobs).toBe(1);
    expect(await jobIds()).toEqual(["ftjob-ok"]);
  });

  it("is told apart from a storable one by each of its times", () => {
    const msg = (s: JobSnapshot) => ({ data: new TextEncoder().encode(JSON.stringify(s)), seq: 1 });
    for (const s of unstorable) expect(parseSnapshot(msg(s))).toBeNull();
    const farButFine = snapshot("ftjob-far", "evt_t5", { finished_at: 8_000_000_000_000 }, 1);
    expect(parseSnapshot(msg(farButFine))?.snapshot.job.finished_at).toBe(8_000_000_000_000);
  });
});
