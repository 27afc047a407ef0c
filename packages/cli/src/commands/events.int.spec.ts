/**
 * `hookstream events` and `hookstream stats` against a real Postgres. The table is made
 * here with the contract columns (docs/architecture.md, "Tables") rather than the audit service's migration:
 * packages never import a service, and the CLI must work with whatever the contract holds.
 */

import { UNHANDLED_EVENT_TYPE } from "@hookstream/contracts";
import { createTestDatabase, freePort } from "@hookstream/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../runCli";

const db = await createTestDatabase(inject("databaseUrl"), "cliev");
const empty = await createTestDatabase(inject("databaseUrl"), "cliempty");

const ROWS: Array<[string, string, string]> = [
  ["evt_1", "fine_tuning.job.succeeded", "processed"],
  ["evt_2", "fine_tuning.job.succeeded", "pending"],
  ["evt_3", "batch.completed", "processed"],
  ["evt_4", "response.failed", "dead"],
  ["evt_5", UNHANDLED_EVENT_TYPE, "ignored"],
];

beforeAll(async () => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE webhook_events (
      id bigserial PRIMARY KEY, provider text NOT NULL DEFAULT 'openai', event_id text NOT NULL UNIQUE, event_type text NOT NULL,
      webhook_id text, "timestamp" timestamptz, signature text, headers jsonb, payload jsonb,
      status text NOT NULL DEFAULT 'pending', processed_at timestamptz, error_message text,
      metadata jsonb NOT NULL DEFAULT '{}', retry_count integer NOT NULL DEFAULT 0,
      resource_type text, resource_id text, stream_seq bigint, subject text,
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
      project text)`);
    // one insert per row so that created_at and id both give the order of arrival
    for (const [id, type, status] of ROWS) {
      await client.query(
        `INSERT INTO webhook_events (event_id, event_type, status, resource_type, resource_id, error_message, project)
         VALUES ($1, $2, $3, 'fine_tuning.job', $4, $5, $6)`,
        [
          id,
          type,
          status,
          `ftjob_${id}`,
          status === "dead" ? "boom" : null,
          id === "evt_3" ? "research" : null,
        ],
      );
    }
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await db.drop();
  await empty.drop();
});

describe("hookstream events", () => {
  it("lists rows newest first, filtered by status and type, bounded by --limit", async () => {
    const all = await runCli(["events", "--json"], { DATABASE_URL: db.url });
    expect(all.code, all.err).toBe(0);
    expect(JSON.parse(all.out).map((r: { event_id: string }) => r.event_id)).toEqual([
      "evt_5",
      "evt_4",
      "evt_3",
      "evt_2",
      "evt_1",
    ]);

    const filtered = await runCli(
      ["events", "--status", "processed", "--type", "fine_tuning.job.succeeded", "--json"],
      { DATABASE_URL: db.url },
    );
    expect(JSON.parse(filtered.out).map((r: { event_id: string }) => r.event_id)).toEqual(["evt_1"]);

    const limited = await runCli(["events", "--limit", "2"], { DATABASE_URL: db.url });
    expect(limited.code).toBe(0);
    const [header, ...lines] = limited.out.trim().split("\n");
    expect(header?.split(/\s+/).slice(0, 5)).toEqual(["received", "status", "provider", "project", "type"]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ openai /);
    expect(limited.out).toContain("evt_5");
    expect(limited.out).toContain("evt_4");
  });

  it("filters by OpenAI project (--project) and shows it", async () => {
    const r = await runCli(["events", "--project", "research"], { DATABASE_URL: db.url });
    expect(r.code, r.err).toBe(0);
    // the header, then the one row
    expect(r.out.trim().split("\n")).toHaveLength(2);
    expect(r.out).toMatch(/\bresearch\s+\S+\s+evt_3\b/);
  });

  it("refuses an unknown status with a usage error", async () => {
    const r = await runCli(["events", "--status", "done"], { DATABASE_URL: db.url });
    expect(r.code).toBe(2);
    expect(r.err).toContain('--status "done" is not one of: pending, processed, failed, ignored, dead');
  });
});

describe("hookstream stats", () => {
  it("counts rows by status and by type", async () => {
    const r = await runCli(["stats", "--json"], { DATABASE_URL: db.url });
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      total: 5,
      by_status: { dead: 1, ignored: 1, pending: 1, processed: 2 },
      by_type: {
        "fine_tuning.job.succeeded": 2,
        "batch.completed": 1,
        [UNHANDLED_EVENT_TYPE]: 1,
        "response.failed": 1,
      },
    });
    const text = await runCli(["stats"], { DATABASE_URL: db.url });
    expect(text.out).toMatch(/events: 5/);
  });
});

describe("errors a person can act on", () => {
  it("says the audit service has not run its migrations when the table is missing", async () => {
    for (const cmd of ["events", "stats"]) {
      const r = await runCli([cmd], { DATABASE_URL: empty.url });
      expect(r.code).toBe(1);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain("the audit service has not run its migrations");
    }
  });

  it("says the database cannot be reached, in one line, when nothing listens", async () => {
    const port = await freePort();
    const r = await runCli(["stats"], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/hookstream` });
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain(`cannot reach the database at 127.0.0.1:${port}`);
  });

  it("says the gateway cannot be reached and to start it", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/webhooks/openai`;
    const r = await runCli(["send", "fine_tuning.job.succeeded", "--url", url], {});
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot reach the gateway at ${url} (ECONNREFUSED): is it running? (npm start)`);
  });
});
