/** One section of BENCHMARKS.md: a table of figures measured side by side in one run. */
export interface BenchSection {
  title: string;
  command?: string;
  rows: Array<Record<string, string | number>>;
  notes?: string | string[];
}
