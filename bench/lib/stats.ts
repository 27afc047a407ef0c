/** Medians and spreads of repeated runs, and the shape of bench/results.json. */

/**
 * How many times each pair (a measurement and its ceiling) runs (BENCH_RUNS). Five, not
 * three: on a shared 2-core VM the same CPU-bound loop was seen taking 25 to 49 ms from
 * one moment to the next, and with three runs one slow moment moved a median by a fifth.
 */
export const RUNS = Number(process.env.BENCH_RUNS || 5);

export interface Run {
  value: number;
  ceiling: number | null;
  ratio: number | null;
  p50?: number;
  p99?: number;
}

/** One entry of bench/results.json. */
export interface Measurement {
  value: number;
  unit: string;
  ceiling: number | null;
  /** median of the per-run ratios: each run is paired with the ceiling measured beside it */
  ratio: number | null;
  runs: Run[];
  /** (max − min) / median of the values, in percent */
  spread_pct: number;
  p50?: number;
  p99?: number;
  ceiling_p50?: number;
  ceiling_p99?: number;
  notes?: string[];
  [extra: string]: unknown;
}

export const RESULT_KEYS = [
  "audit_drain",
  "gateway",
  "gateway_fixed_rate",
  "rebuild",
  "e2e_sustained",
  "pipeline",
  "delivery",
  "delivery_ordered",
] as const;
export type ResultKey = (typeof RESULT_KEYS)[number];

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function spreadPct(xs: number[]): number {
  const m = median(xs);
  if (!Number.isFinite(m) || m === 0) return Number.NaN;
  return round(((Math.max(...xs) - Math.min(...xs)) / m) * 100, 1);
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Summarizes paired runs (value beside ceiling) into one measurement. */
export function summarize(unit: string, runs: Run[], extra: Partial<Measurement> = {}): Measurement {
  const values = runs.map((r) => r.value);
  const ceilings = runs.map((r) => r.ceiling).filter((c): c is number => c !== null);
  const ratios = runs.map((r) => r.ratio).filter((c): c is number => c !== null);
  const p50s = runs.map((r) => r.p50).filter((c): c is number => c !== undefined);
  const p99s = runs.map((r) => r.p99).filter((c): c is number => c !== undefined);
  return {
    value: round(median(values), 1),
    unit,
    ceiling: ceilings.length > 0 ? round(median(ceilings), 1) : null,
    ratio: ratios.length > 0 ? round(median(ratios), 3) : null,
    runs,
    spread_pct: spreadPct(values),
    ...(p50s.length > 0 ? { p50: round(median(p50s), 2) } : {}),
    ...(p99s.length > 0 ? { p99: round(median(p99s), 2) } : {}),
    ...extra,
  };
}

/** "12,345 (±3.1 %)" */
export function fmt(m: { value: number; spread_pct: number }, digits = 0): string {
  const v = m.value.toLocaleString("en-US", { maximumFractionDigits: digits });
  return Number.isFinite(m.spread_pct) ? `${v} (spread ${m.spread_pct} %)` : v;
}
