import { createHash } from "node:crypto";
import type { EventInsertRow } from "@hookstream/audit-store";
import { MAX_ID_LENGTH } from "@hookstream/contracts";
import { arrayLiteral } from "@hookstream/db";
import type { EntityManager } from "@mikro-orm/postgresql";
import { from as copyFrom } from "pg-copy-streams";

/** A statement and its parameters, ready for the driver. */
export interface EventInsert {
  sql: string;
  params: unknown[];
  /** distinct event ids in the statement */
  rows: number;
}

// One parameter per column, whatever the batch size: the statement text never
// changes (Postgres plans it once per connection) and the driver sends 18 values,
// not 18 × rows. The ORM's multi-row VALUES built and bound 16 parameters per row,
// which the profile in BENCHMARKS.md showed as the audit's largest cost. Plain
// columns travel as array literals; the jsonb columns as one JSON array each, built
// by joining JSON texts (no escaping) and split back into elements in order; times
// as epoch milliseconds (no date text to format in Node or to parse in Postgres).
const jsonbColumn = (n: number) =>
  `ARRAY(SELECT v FROM jsonb_array_elements($${n}::jsonb) WITH ORDINALITY AS e(v, i) ORDER BY i)`;
const INSERT_SQL = `
INSERT INTO webhook_events (event_id, event_type, webhook_id, "timestamp", signature, headers, payload,
  status, metadata, retry_count, resource_type, resource_id, stream_seq, subject, created_at, updated_at,
  provider, project)
SELECT u.id, u.type, u.wid, to_timestamp(u.ts / 1000.0), u.sig, u.headers, u.payload, u.status, u.metadata,
  u.retry, u.rtype, u.rid, u.seq, u.subject, to_timestamp(u.created / 1000.0), to_timestamp(u.updated / 1000.0),
  u.provider, u.project
FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], ${jsonbColumn(6)},
  ${jsonbColumn(7)}, $8::text[], ${jsonbColumn(9)}, $10::int[], $11::text[], $12::text[], $13::bigint[],
  $14::text[], $15::float8[], $16::float8[], $17::text[], $18::text[])
  AS u(id, type, wid, ts, sig, headers, payload, status, metadata, retry, rtype, rid, seq, subject, created,
    updated, provider, project)
ON CONFLICT (event_id, provider) DO UPDATE SET
  event_type = excluded.event_type, webhook_id = excluded.webhook_id, "timestamp" = excluded."timestamp",
  signature = excluded.signature, headers = excluded.headers, payload = excluded.payload,
  metadata = excluded.metadata, resource_type = excluded.resource_type, resource_id = excluded.resource_id,
  stream_seq = excluded.stream_seq, subject = excluded.subject, updated_at = excluded.updated_at,
  provider = excluded.provider, project = excluded.project
WHERE webhook_events.subject IS NULL`;

/** The metadata column as JSON text ("{}", the usual value, without serializing). */
function metadataJson(metadata: Record<string, unknown>): string {
  for (const _ in metadata) return JSON.stringify(metadata);
  return "{}";
}

/** The first row (or prepared event) of each event (provider and id), in order. */
export function distinctEvents<T extends { eventId: string; provider: string }>(rows: T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const row of rows) {
    // a provider name holds no space
    const key = `${row.provider} ${row.eventId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return out;
}

/** The statement that writes `rows` (the first row of each event id wins). */
export function eventInsertOf(rows: EventInsertRow[]): EventInsert {
  // one row per id: ON CONFLICT DO UPDATE may not touch the same row twice in one statement
  const distinct = distinctEvents(rows);
  const id: string[] = [];
  const type: string[] = [];
  const webhookId: Array<string | null> = [];
  const ts: Array<number | null> = [];
  const sig: Array<string | null> = [];
  const headers: string[] = [];
  const payload: string[] = [];
  const status: string[] = [];
  const metadata: string[] = [];
  const retry: number[] = [];
  const resType: Array<string | null> = [];
  const resId: Array<string | null> = [];
  const seq: number[] = [];
  const subject: string[] = [];
  const created: number[] = [];
  const updated: number[] = [];
  const provider: string[] = [];
  const project: Array<string | null> = [];
  for (const row of distinct) {
    id.push(row.eventId);
    type.push(row.eventType);
    webhookId.push(row.webhookId);
    ts.push(row.timestamp === null ? null : row.timestamp.getTime());
    sig.push(row.signature);
    headers.push(JSON.stringify(row.headers));
    payload.push(row.payloadJson);
    status.push(row.status);
    metadata.push(metadataJson(row.metadata));
    retry.push(row.retryCount);
    resType.push(row.resourceType);
    resId.push(row.resourceId);
    seq.push(row.streamSeq);
    subject.push(row.subject);
    created.push(row.createdAt.getTime());
    updated.push(row.updatedAt.getTime());
    provider.push(row.provider);
    project.push(row.project ?? null);
  }
  const json = (texts: string[]) => `[${texts.join(",")}]`;
  const params = [
    arrayLiteral(id),
    arrayLiteral(type),
    arrayLiteral(webhookId),
    arrayLiteral(ts),
    arrayLiteral(sig),
    json(headers),
    json(payload),
    arrayLiteral(status),
    json(metadata),
    arrayLiteral(retry),
    arrayLiteral(resType),
    arrayLiteral(resId),
    arrayLiteral(seq),
    arrayLiteral(subject),
    arrayLiteral(created),
    arrayLiteral(updated),
    arrayLiteral(provider),
    arrayLiteral(project),
  ];
  return { sql: INSERT_SQL, params, rows: distinct.length };
}

const COPY_SQL = `COPY webhook_events (event_id, event_type, webhook_id, "timestamp", signature, headers,
  payload, status, metadata, retry_count, resource_type, resource_id, stream_seq, subject, created_at, updated_at,
  provider, project) FROM STDIN`;

// COPY's text format: tab between columns, newline between rows, \N for NULL, and a
// backslash before a backslash, tab, newline or carriage return inside a value
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPE: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
const copyEscape = (c: string) => COPY_ESCAPE[c] as string;

/** One value of a COPY text row. */
export function copyValue(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return String(v);
  return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIALS, copyEscape) : v;
}

export interface EventCopy {
  text: string | Buffer;
  /** distinct event ids in the text */
  rows: number;
}

/**
 * A time as timestamptz input reads it: ISO 8601 for years 1 to 9999; beyond them
 * the year unsigned (toISOString's "+275760-…" or "-001199-…" would be read as a
 * time zone), with " BC" for year 0 and before (year 0 is 1 BC).
 */
export function timestampText(d: Date): string {
  const iso = d.toISOString();
  const year = d.getUTCFullYear();
  if (year >= 1 && year <= 9999) return iso;
  const rest = iso.slice(iso.indexOf("-", 1));
  // at least four digits: "1-06-01" would be read as month-day-year
  return year >= 1 ? `${year}${rest}` : `${String(1 - year).padStart(4, "0")}${rest} BC`;
}

/** timestampText, remembering the last time it formatted. */
function isoMemo(): (d: Date) => string {
  let lastMs = Number.NaN;
  let lastIso = "";
  return (d) => {
    const ms = d.getTime();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = timestampText(d);
    }
    return lastIso;
  };
}

/** The times of a batch repeat (rows built in the same millisecond, webhooks signed in the same second). */
const createdIso = isoMemo();
const signedIso = isoMemo();

/** One row of the COPY text, newline included: the same columns as the INSERT. */
export function eventCopyLine(r: EventInsertRow): string {
  return `${copyValue(r.eventId)}\t${copyValue(r.eventType)}\t${copyValue(r.webhookId)}\t${
    r.timestamp === null ? "\\N" : signedIso(r.timestamp)
  }\t${copyValue(r.signature)}\t${copyValue(JSON.stringify(r.headers))}\t${copyValue(r.payloadJson)}\t${
    r.status
  }\t${copyValue(metadataJson(r.metadata))}\t${r.retryCount}\t${copyValue(r.resourceType)}\t${copyValue(
    r.resourceId,
  )}\t${r.streamSeq}\t${copyValue(r.subject)}\t${createdIso(r.createdAt)}\t${createdIso(
    r.updatedAt,
  )}\t${copyValue(r.provider)}\t${copyValue(r.project ?? null)}\n`;
}

/** The COPY text (one line per event id, the first row of each) of the same columns as the INSERT. */
export function eventCopyOf(rows: EventInsertRow[]): EventCopy {
  const distinct = distinctEvents(rows);
  return { text: distinct.map(eventCopyLine).join(""), rows: distinct.length };
}

/**
 * An event made ready for COPY as its message arrives: its id and its COPY line as
 * UTF-8 bytes. What waits for the batch is then one buffer per message, not a row's
 * graph of objects and strings, which every young-generation collection copied while
 * the batch waited (a sixth of the audit's CPU in a drain was the collector); and the
 * text is encoded here once, not again when the batch is sent.
 */
export interface PreparedEvent {
  eventId: string;
  provider: string;
  copyLine: Buffer;
}

export function preparedEventOf(row: EventInsertRow): PreparedEvent {
  return { eventId: row.eventId, provider: row.provider, copyLine: Buffer.from(eventCopyLine(row)) };
}

/** The COPY text of prepared events: the first of each event id, in order. */
export function preparedCopyOf(events: PreparedEvent[]): EventCopy {
  const distinct = distinctEvents(events);
  return { text: Buffer.concat(distinct.map((e) => e.copyLine)), rows: distinct.length };
}

interface PgLike {
  query(sql: string, params: unknown[]): Promise<{ rowCount: number | null }>;
  query(submittable: NodeJS.WritableStream): NodeJS.WritableStream;
}
interface KnexClientLike {
  acquireConnection(): Promise<PgLike>;
  releaseConnection(conn: PgLike): Promise<unknown>;
}

/**
 * Whether Postgres refused a value, which no retry changes: a data exception (class 22:
 * a lone surrogate escape or a number beyond numeric's range in a body JSON.parse
 * took) or a program limit (class 54: JSON nested deeper than jsonb's parser goes).
 */
function refusedValue(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("54"));
}

function refusalOf(err: unknown): string {
  const e = err as { code?: string; message?: string; detail?: string };
  return `${e.code}: ${e.message}${e.detail ? ` (${e.detail})` : ""}`;
}

/**
 * The row with its payload kept as text, `{ "raw": <the body> }`, and why in
 * `metadata.refused`: for a body Postgres will not take as jsonb.
 */
export function rawPayloadRow(row: EventInsertRow, refused: string): EventInsertRow {
  return {
    ...row,
    payloadJson: JSON.stringify({ raw: row.payloadJson }),
    metadata: { ...row.metadata, unparsed: true, refused },
  };
}

/** Postgres's refusal of an index entry over a b-tree page's third (54000, "index row size … exceeds"). */
function indexRowTooLarge(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === "54000" && /index row/i.test(String(e.message));
}

/** A key over MAX_ID_LENGTH as its first 64 characters and the SHA-256 of the whole (the same each time). */
function shortKey(value: string): string {
  return `${value.slice(0, 64)}~sha256:${createHash("sha256").update(value).digest("hex")}`;
}

/**
 * The row with every indexed text column over MAX_ID_LENGTH shortened (shortKey) and
 * the lengths it had in `metadata.shortened`: for a row no b-tree index takes. The
 * gateway refuses such ids at the edge; a message another publisher put on the stream
 * must not hold up the audit either. The full values stay in the headers and payload.
 */
export function shortKeysRow(row: EventInsertRow, refused: string): EventInsertRow {
  const shortened: Record<string, number> = {};
  const bound = (column: string, value: string): string => {
    if (value.length <= MAX_ID_LENGTH) return value;
    shortened[column] = value.length;
    return shortKey(value);
  };
  const nullable = (column: string, value: string | null) => (value === null ? null : bound(column, value));
  return {
    ...row,
    eventId: bound("event_id", row.eventId),
    eventType: bound("event_type", row.eventType),
    resourceType: nullable("resource_type", row.resourceType),
    resourceId: nullable("resource_id", row.resourceId),
    metadata: { ...row.metadata, refused, shortened },
  };
}

/**
 * Writes one row Postgres refused: with its payload as raw text when the refusal was
 * of a value (rawPayloadRow), with its keys shortened when it was of an index entry
 * (shortKeysRow), then with both; a row refused even so is left out (reported to
 * `onDropped`; its message stays in the stream) rather than retried forever.
 */
async function writeRefusedRow(
  em: EntityManager,
  row: EventInsertRow,
  err: unknown,
  on: Pick<EventWriterOptions, "onRefused" | "onDropped">,
): Promise<number> {
  const refused = refusalOf(err);
  on.onRefused?.(row, refused);
  const both = shortKeysRow(rawPayloadRow(row, refused), refused);
  const tries = indexRowTooLarge(err)
    ? [shortKeysRow(row, refused), both]
    : [rawPayloadRow(row, refused), both];
  let last = err;
  for (const attempt of tries) {
    try {
      return await runOnPool(em, eventInsertOf([attempt]));
    } catch (e) {
      if (!refusedValue(e)) throw e;
      last = e;
    }
  }
  on.onDropped?.(row, refusalOf(last));
  return 0;
}

/**
 * Inserts the rows in one statement and returns how many were new. An event id
 * already in the table changes nothing (a redelivery, or a re-publish outside the
 * duplicate window) — unless its row is a placeholder made by an outcome that came
 * first (`subject IS NULL`): then the event's columns are filled in and the status
 * the outcomes decided is kept. Runs on a connection of the ORM's pool.
 *
 * A batch holding a row Postgres refuses is halved until each refused row is alone,
 * and such a row is written as writeRefusedRow says (reported to `onRefused`): a body
 * jsonb cannot hold is kept as raw text, an id no index takes is shortened, and
 * neither holds up the audit, which does not dead-letter. Each part is its own
 * statement: should a later part fail otherwise, the redelivered batch finds the
 * earlier parts' rows in (ON CONFLICT).
 */
export async function insertEvents(
  em: EntityManager,
  rows: EventInsertRow[],
  on: Pick<EventWriterOptions, "onRefused" | "onDropped"> = {},
): Promise<number> {
  const statement = eventInsertOf(rows);
  if (statement.rows === 0) return 0;
  try {
    return await runOnPool(em, statement);
  } catch (err) {
    if (!refusedValue(err)) throw err;
    if (statement.rows === 1)
      return writeRefusedRow(em, (distinctEvents(rows) as [EventInsertRow])[0], err, on);
    const half = Math.ceil(rows.length / 2);
    return (await insertEvents(em, rows.slice(0, half), on)) + (await insertEvents(em, rows.slice(half), on));
  }
}

/** Runs `work` on a connection borrowed from the ORM's pool (no ORM formatting on the way). */
async function onPoolConnection<T>(em: EntityManager, work: (conn: PgLike) => Promise<T>): Promise<T> {
  const client = em.getConnection().getKnex().client as KnexClientLike;
  const conn = await client.acquireConnection();
  try {
    return await work(conn);
  } finally {
    await client.releaseConnection(conn);
  }
}

/** Runs a statement on a connection borrowed from the ORM's pool. */
export async function runOnPool(em: EntityManager, statement: EventInsert): Promise<number> {
  return onPoolConnection(
    em,
    async (conn) => (await conn.query(statement.sql, statement.params)).rowCount ?? 0,
  );
}

/**
 * Sends COPY text on a connection of the ORM's pool; resolves once the rows are
 * committed (COPY is one statement, autocommitted), rejects with Postgres's error
 * (nothing written) otherwise.
 */
export function copyEvents(em: EntityManager, copy: EventCopy): Promise<void> {
  return onPoolConnection(
    em,
    (conn) =>
      new Promise<void>((resolve, reject) => {
        const stream = conn.query(copyFrom(COPY_SQL));
        stream.on("error", reject);
        stream.on("finish", resolve);
        stream.end(copy.text);
      }),
  );
}

export interface EventWriter {
  /**
   * Writes the rows; resolves with how many were new and which way they went. With
   * `prepared` (one per row, in order) COPY sends their lines, and `rows` may be a
   * function, called only when the INSERT has to write them.
   */
  write(
    em: EntityManager,
    rows: EventInsertRow[] | (() => EventInsertRow[]),
    prepared?: Array<PreparedEvent | undefined>,
  ): Promise<{ inserted: number; path: "copy" | "insert" }>;
  /** whether the next batch goes by COPY (false while COPY is left aside): prepared lines are used only then */
  copying(): boolean;
}

export interface EventWriterOptions {
  /** how long COPY is left aside after a batch it could not write (default 10 s) */
  copyPauseMs?: number;
  /**
   * the fewest rows a batch needs to go by COPY (default 1): COPY takes two round trips
   * (the statement, then the data), the INSERT one, so below a few rows the round trip
   * costs more than COPY saves per row
   */
  copyMinRows?: number;
  now?: () => number;
  /** told why COPY failed (the batch was then written by the INSERT) */
  onCopyFailed?: (err: unknown) => void;
  /** told of a row Postgres refused (written with its payload as raw text, or its keys shortened) */
  onRefused?: (row: EventInsertRow, refused: string) => void;
  /** told of a row Postgres refused however it was written: left out of the table */
  onDropped?: (row: EventInsertRow, refused: string) => void;
}

/**
 * Writes batches of new events by COPY, the fastest way into Postgres (on this
 * machine ~13 µs of Postgres CPU per row against ~20 for the INSERT … ON CONFLICT,
 * BENCHMARKS.md), and falls back to `insertEvents` for a batch COPY cannot take.
 * COPY has no ON CONFLICT: a batch holding an event the table already has (a
 * redelivery, a re-publish outside the duplicate window, an outcome's placeholder)
 * fails as a whole with nothing written, and is then written by the INSERT, which
 * skips or fills in those rows as `insertEvents` says. Such batches come in runs (a
 * backlog re-read after a restart, outcomes ahead of a lagging audit), so after one
 * COPY is left aside for `copyPauseMs` and every batch goes straight to the INSERT.
 */
export function createEventWriter(opts: EventWriterOptions = {}): EventWriter {
  const pauseMs = opts.copyPauseMs ?? 10_000;
  const copyMinRows = opts.copyMinRows ?? 1;
  const now = opts.now ?? Date.now;
  let copyPausedUntil = 0;
  const copying = () => now() >= copyPausedUntil;
  return {
    copying,
    async write(em, rows, prepared) {
      // built at most once: the size below and the INSERT use the same rows
      let built: EventInsertRow[] | null = null;
      const rowsNow = () => {
        built ??= typeof rows === "function" ? rows() : rows;
        return built;
      };
      const size = prepared?.length ?? rowsNow().length;
      if (copying() && size >= copyMinRows) {
        const ready = prepared?.every((p) => p !== undefined) ? (prepared as PreparedEvent[]) : null;
        const copy = ready ? preparedCopyOf(ready) : eventCopyOf(rowsNow());
        if (copy.rows === 0) return { inserted: 0, path: "copy" };
        const copied = await copyEvents(em, copy).then(
          () => true,
          (err: unknown) => {
            opts.onCopyFailed?.(err);
            return false;
          },
        );
        if (copied) return { inserted: copy.rows, path: "copy" };
        copyPausedUntil = now() + pauseMs;
      }
      return { inserted: await insertEvents(em, rowsNow(), opts), path: "insert" };
    },
  };
}
