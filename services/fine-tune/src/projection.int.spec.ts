import { parseConfig } from "@hookstream/config";
import { type JobSnapshot, jobSubject } from "@hookstream/contracts";
import { eventually, testInfra } from "@hookstream/testing";
import fc from "fast-check";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { reorderedWithDuplicates, snapshotStream } from "../testing/snapshotStream";
import { applyStates } from "./applyStates";
import { FineTuneConfigSchema } from "./config";
import { foldAll, type JobState, type SequencedSnapshot } from "./evolve";
import { parseSnapshot } from "./parseSnapshot";
import { readStream } from "./readStream";
import { rebuildProjection } from "./rebuildProjection";
import { type FineTuneService, startFineTune } from "./startFineTune";

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const infra = await testInfra("ftp", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, db, natsUrl, jsm, js } = infra;
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
infra.defer(() => sql.end());
const config = parseConfig(FineTuneConfigSchema, {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  FINE_TUNE_BATCH_SIZE: "200",
  // these tests are about the query API itself; its token check is tested in adminSurface.int.spec.ts
  FINE_TUNE_API_PUBLIC: "true",
  LOG_LEVEL: "silent",
});
const services: FineTuneService[] = [
  infra.track(await startFineTune(config, logger)),
  infra.track(await startFineTune(config, logger)),
];

afterAll(() => infra.close());

type Row = Record<string, unknown>;

/** The rows as JobStates (timestamps back to unix seconds), keyed by job id. */
async function rows(table = "fine_tune_jobs", like = "%"): Promise<Map<string, JobState>> {
  const { rows: found } = await sql.query<Row>(
    `SELECT openai_job_id, status, model, fine_tuned_model, trained_tokens::int AS trained_tokens, error,
       EXTRACT(EPOCH FROM created_at)::int AS created_at, EXTRACT(EPOCH FROM finished_at)::int AS finished_at,
       last_event_id, EXTRACT(EPOCH FROM last_event_at)::int AS last_event_at, last_stream_seq::int AS last_stream_seq,
       EXTRACT(EPOCH FROM status_event_at)::int AS status_event_at, status_stream_seq::int AS status_stream_seq,
       project
     FROM ${table} WHERE openai_job_id LIKE $1`,
    [like],
  );
  return new Map(
    found.map((r) => [
      r.openai_job_id as string,
      {
        openaiJobId: r.openai_job_id,
        status: r.status,
        model: r.model,
        fineTunedModel: r.fine_tuned_model,
        trainedTokens: r.trained_tokens,
        error: r.error,
        createdAt: r.created_at,
        finishedAt: r.finished_at,
        lastEventId: r.last_event_id,
        lastEventAt: r.last_event_at,
        lastStreamSeq: r.last_stream_seq,
        statusEventAt: r.status_event_at,
        statusStreamSeq: r.status_stream_seq,
        project: r.project,
      } as JobState,
    ]),
  );
}

/** Every snapshot in the stream, in stream order: the input of the in-order fold. */
async function streamSnapshots(): Promise<SequencedSnapshot[]> {
  const info = await jsm.streams.info(topology.streams.fineTuning);
  const out: SequencedSnapshot[] = [];
  await readStream(
    js,
    topology.streams.fineTuning,
    { fromSeq: info.state.first_seq, toSeq: info.state.last_seq },
    (m) => {
      const s = parseSnapshot(m);
      if (s) out.push(s);
    },
  );
  return out;
}

async function messageCounts(): Promise<number[]> {
  return Promise.all(
    Object.values(topology.streams).map(async (s) => (await jsm.streams.info(s)).state.messages),
  );
}

function publishSnapshot(s: JobSnapshot, msgID: string) {
  return js.publish(jobSubject(topology, s.job.id), JSON.stringify(s), { msgID });
}

describe("the guarded upsert", () => {
  it("ends in the in-order fold's rows whatever the order, batching and duplicates (property, real Postgres)", async () => {
    await sql.query("CREATE TABLE prop_jobs (LIKE fine_tune_jobs INCLUDING ALL)");
    const em = services[0]!.orm.em.fork();
    await fc.assert(
      fc.asyncProperty(
        snapshotStream({ jobs: 3, maxPerJob: 5 }).chain((stream) =>
          fc.tuple(fc.constant(stream), reorderedWithDuplicates(stream), fc.integer({ min: 1, max: 4 })),
        ),
        async ([stream, reordered, batch]) => {
          await sql.query("TRUNCATE prop_jobs");
          for (let i = 0; i < reordered.length; i += batch) {
            await applyStates(em, foldAll(reordered.slice(i, i + batch)).values(), "prop_jobs");
          }
          expect(await rows("prop_jobs")).toEqual(foldAll(stream));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("two instances of the fine-tune service", () => {
  it("consume a shuffled, duplicated stream of thousands of snapshots into exactly the in-order fold", async () => {
    const [stream] = fc.sample(snapshotStream({ jobs: 300, minJobs: 300, maxPerJob: 12 }), {
      numRuns: 1,
      seed: 42,
    });
    const copies = fc.sample(reorderedWithDuplicates(stream!), { numRuns: 1, seed: 7 })[0]!;
    let n = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (n < copies.length) {
          const i = n++;
          // a new msgID per copy: duplicates reach the stream, as re-published events would
          await publishSnapshot(copies[i]!.snapshot, `copy-${i}`);
        }
      }),
    );
    expect(copies.length).toBeGreaterThan(1_000);
    await eventually(
      async () => {
        const c = await jsm.consumers.info(topology.streams.fineTuning, "fine-tune");
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { timeoutMs: 60_000, message: "the projection to catch up" },
    );
    const expected = foldAll(await streamSnapshots());
    expect(expected.size).toBe(new Set(stream!.map((s) => s.snapshot.job.id)).size);
    expect(await rows()).toEqual(expected);
    const applied = await Promise.all(
      services.map(async (s) =>
        Number(
          /hookstream_projection_applied_total\{[^}]*\} (\d+)/.exec(
            (await s.app.inject({ url: "/metrics" })).body,
          )?.[1] ?? 0,
        ),
      ),
    );
    expect(applied.every((a) => a > 0)).toBe(true);
  });

  it("gives identical rows after the table is dropped and rebuilt from the stream, publishing nothing", async () => {
    const before = await rows();
    const countsBefore = await messageCounts();
    await sql.query("DROP TABLE fine_tune_jobs");
    const phases: string[] = [];
    const result = await rebuildProjection({
      orm: services[0]!.orm,
      js,
      jsm,
      topology,
      onProgress: (p) => phases.push(p.phase),
    });
    expect(result.jobs).toBe(before.size);
    expect(phases.at(-1)).toBe("done");
    expect(await rows()).toEqual(before);
    expect(await messageCounts()).toEqual(countsBefore);
  });

  it("rebuilds while the live table keeps answering and the consumer keeps writing", async () => {
    const [extra] = fc.sample(snapshotStream({ jobs: 50, minJobs: 50, maxPerJob: 4 }), {
      numRuns: 1,
      seed: 3,
    });
    const publishing = (async () => {
      for (const [i, s] of extra!.entries()) {
        const renamed = {
          ...s.snapshot,
          event_id: `live-${s.snapshot.event_id}`,
          job: { ...s.snapshot.job, id: `live-${s.snapshot.job.id}` },
        };
        await publishSnapshot(renamed, `live-${i}`);
      }
    })();
    const reads = (async () => {
      let ok = 0;
      for (let i = 0; i < 20; i++)
        if ((await services[1]!.app.inject({ url: "/fine-tune-jobs?limit=5" })).statusCode === 200) ok++;
      return ok;
    })();
    await rebuildProjection({ orm: services[0]!.orm, js, jsm, topology });
    await publishing;
    expect(await reads).toBe(20);
    await eventually(async () => {
      const c = await jsm.consumers.info(topology.streams.fineTuning, "fine-tune");
      return c.num_pending === 0 && c.num_ack_pending === 0;
    });
    await eventually(
      async () => {
        const want = foldAll(await streamSnapshots());
        expect(await rows()).toEqual(want);
        return true;
      },
      { message: "rows equal to the fold after the rebuild" },
    );
  });
});

describe("the job query API", () => {
  const app = () => services[0]!.app;

  it("lists newest first with filters and a cursor that walks every row once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await app().inject({
        url: `/fine-tune-jobs?status=succeeded&limit=7${cursor ? `&cursor=${cursor}` : ""}`,
      });
      expect(res.statusCode).toBe(200);
      const page = res.json() as {
        data: Array<{ id: string; status: string; created_at: string | null }>;
        next_cursor: string | null;
      };
      expect(page.data.every((j) => j.status === "succeeded")).toBe(true);
      seen.push(...page.data.map((j) => j.id));
      cursor = page.next_cursor;
    } while (cursor);
    const { rows: expected } = await sql.query(
      "SELECT openai_job_id FROM fine_tune_jobs WHERE status = 'succeeded' ORDER BY COALESCE(created_at, 'epoch'::timestamptz) DESC, openai_job_id DESC",
    );
    expect(seen).toEqual(expected.map((r) => r.openai_job_id));
  });

  it("answers 400 naming the parameter for bad filters and cursors", async () => {
    for (const q of ["status=done", "limit=0", "limit=1000", "cursor=xyz"]) {
      const res = await app().inject({ url: `/fine-tune-jobs?${q}` });
      expect(res.statusCode, q).toBe(400);
      expect(res.json()).toMatchObject({ error: `invalid_${q.split("=")[0]}` });
    }
  });

  it("shows one job with its history read back from the stream, and 404 for an unknown id", async () => {
    const {
      rows: [one],
    } = await sql.query("SELECT openai_job_id FROM fine_tune_jobs ORDER BY openai_job_id LIMIT 1");
    const res = await app().inject({ url: `/fine-tune-jobs/${one.openai_job_id}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { id: string; history: Array<{ seq: number }> };
    expect(body.id).toBe(one.openai_job_id);
    const inStream = (await streamSnapshots())
      .filter((s) => s.snapshot.job.id === one.openai_job_id)
      .map((s) => s.seq);
    expect(body.history.map((h) => h.seq)).toEqual(inStream);
    expect((await app().inject({ url: "/fine-tune-jobs/ftjob-nope" })).statusCode).toBe(404);
    expect((await app().inject({ url: "/fine-tune-jobs/a.b" })).statusCode).toBe(400);
  });
});
