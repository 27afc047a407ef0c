/**
 * The earliest instant a timestamptz holds is 4714-11-24 BC; this bound, a year later,
 * is kept round and safe. JavaScript's latest Date (+275760-09-13) is below its
 * latest (294276 AD), so a valid Date is never too late.
 */
export const EARLIEST_TIMESTAMPTZ_MS = Date.UTC(-4712, 10, 24);

/**
 * Whether Postgres can store this moment (epoch milliseconds) as a timestamptz: a
 * time beyond it fails its whole statement, and a consumer that retries until its
 * batch is written would retry it forever.
 */
export function storableTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_TIMESTAMPTZ_MS && ms <= 8.64e15;
}
