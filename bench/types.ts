import type { Measurement, ResultKey } from "./lib/stats";

/** One section of BENCHMARKS.md: a table of figures measured side by side in one run. */
export interface BenchSection {
  title: string;
  command?: string;
  rows: Array<Record<string, string | number>>;
  notes?: string | string[];
}

/** What a bench/<group>.bench.ts returns: its sections and its entries of bench/results.json. */
export interface GroupResult {
  sections: BenchSection[];
  results: Partial<Record<ResultKey, Measurement>>;
}
