/** Metric names Prometheus makes itself: no service exports them. */
const SYNTHETIC = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions,
 * aggregations, keywords, label names or numbers. Enough for dashboard queries (not a
 * full PromQL parser): strings, label matchers, ranges and grouping clauses go first.
 */
export function dashboardMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[0-9][0-9a-zA-Z_.]*|[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const token = m[0];
    if (/^[0-9]/.test(token) || KEYWORDS.has(token)) continue;
    const after = stripped.slice((m.index ?? 0) + token.length).trimStart();
    if (after.startsWith("(")) continue; // a function or an aggregation
    names.add(token);
  }
  return [...names];
}

/** name → type, from the `# TYPE` lines of a Prometheus text exposition. */
export function exportedMetrics(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1] ?? "", m[2] ?? "");
  return types;
}

/** Whether a name used in a query is exported: itself, or a histogram's/summary's series. */
export function isExported(name: string, exported: Map<string, string>): boolean {
  if (SYNTHETIC.has(name) || exported.has(name)) return true;
  const series: Array<[string, string[]]> = [
    ["_bucket", ["histogram"]],
    ["_sum", ["histogram", "summary"]],
    ["_count", ["histogram", "summary"]],
  ];
  return series.some(([suffix, types]) => {
    if (!name.endsWith(suffix)) return false;
    const type = exported.get(name.slice(0, -suffix.length));
    return type !== undefined && types.includes(type);
  });
}
