/**
 * `npm run bench`: runs every group (bench/<group>.bench.ts: audit, e2e, gateway,
 * rebuild) in sequence, or those named (`npm run bench -- audit`), and writes
 * BENCHMARKS.md (machine, command, date, load) and bench/results.json. A group run
 * alone replaces only its own sections and entries, so both files stay whole.
 * Every figure sits beside its ceiling measured in the same run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { regenerate } from "../scripts/generate/index";
import { machineDescription, machineShort } from "./lib/machine";
import { LOAD_CPU, machineLoad, pinSelfToLoadCore, SERVER_CPU } from "./lib/proc";
import { type Measurement, RESULT_KEYS } from "./lib/stats";
import type { BenchSection, GroupResult } from "./types";

const here = dirname(fileURLToPath(import.meta.url));
const mdPath = join(here, "..", "BENCHMARKS.md");
const jsonPath = join(here, "results.json");

function table(rows: BenchSection["rows"]): string {
  if (rows.length === 0) return "(no rows)\n";
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(cols),
    line(cols.map(() => "---")),
    ...rows.map((r) => line(cols.map((c) => String(r[c] ?? "")))),
  ].join("\n");
}

function render(s: BenchSection): string {
  const notes = s.notes === undefined ? [] : Array.isArray(s.notes) ? s.notes : [s.notes];
  return [
    `## ${s.title}`,
    s.command ? `\nCommand: \`${s.command}\`\n` : "",
    table(s.rows),
    notes.length > 0 ? `\n${notes.map((n) => `- ${n}`).join("\n")}` : "",
  ].join("\n");
}

/** A group may return only its sections (a section or a list of them): it then has no results.json entries. */
function asGroupResult(out: GroupResult | BenchSection | BenchSection[]): GroupResult {
  if (Array.isArray(out)) return { sections: out, results: {} };
  if ("sections" in out) return out;
  return { sections: [out], results: {} };
}

const groups = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.replace(/\.bench\.ts$/, ""))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !groups.includes(w));
if (unknown.length > 0) {
  console.error(`bench: unknown group(s) ${unknown.join(", ")}; groups: ${groups.join(", ")}`);
  process.exit(2);
}
const selected = wanted.length === 0 ? groups : groups.filter((g) => wanted.includes(g));

// services run compiled, as in production: build them first (a turbo cache hit when nothing changed)
execFileSync("npm", ["run", "build", "--silent"], { stdio: "ignore" });

// the runner (publishers, pollers, the open-loop sender) stays off the servers' core
pinSelfToLoadCore();
const loadBefore = machineLoad();

// a group's sections live between markers, so a partial run replaces only its own
const previousMd = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : "";
const previousGroups = new Map<string, string>();
for (const m of previousMd.matchAll(/<!-- group:(\w+) -->\n([\s\S]*?)<!-- \/group:\1 -->/g)) {
  previousGroups.set(m[1] as string, m[2] as string);
}
const results: Record<string, Measurement> = existsSync(jsonPath)
  ? (JSON.parse(readFileSync(jsonPath, "utf8")) as Record<string, Measurement>)
  : {};

const failures: string[] = [];
for (const group of selected) {
  console.error(`bench: ${group} …`);
  const started = Date.now();
  try {
    const mod = (await import(join(here, `${group}.bench.ts`))) as {
      default: () => Promise<GroupResult | BenchSection | BenchSection[]>;
    };
    const out = asGroupResult(await mod.default());
    const when = new Date().toISOString();
    previousGroups.set(
      group,
      `${out.sections.map(render).join("\n\n")}\n\n_Group \`${group}\` measured ${when} on ${machineShort()} in ${Math.round((Date.now() - started) / 1000)} s._\n\n`,
    );
    for (const [k, v] of Object.entries(out.results))
      results[k] = { ...v, measured_at: when, machine: machineShort() };
    for (const s of out.sections) console.error(`${s.title}\n${table(s.rows)}\n`);
  } catch (err) {
    failures.push(group);
    console.error(`bench: ${group} failed:`, err);
  }
}

const command = `npm run bench${wanted.length ? ` -- ${wanted.join(" ")}` : ""}`;
const summary = RESULT_KEYS.map((k) => {
  const m = results[k];
  if (!m) return `| ${k} | not measured | | | |`;
  const lat = m.p99 !== undefined ? `p50 ${m.p50} ms, p99 ${m.p99} ms` : "";
  return `| ${k} | ${m.value} ${m.unit} | ${m.ceiling ?? ""} | ${m.ratio ?? ""} | ${lat} |`;
}).join("\n");
const doc = `# Benchmarks

Last written by \`${command}\` on ${new Date().toISOString()} (${loadBefore} when it started).

Machine: ${machineDescription({ wrk: true })}.
NATS and Postgres are the local servers on loopback, shared by the load generators and the code measured.
${SERVER_CPU === null ? "No core pinning (one core or no taskset)." : `HTTP servers run pinned to core ${SERVER_CPU} and load generators (wrk, the open-loop sender, this runner) to core ${LOAD_CPU}; nats-server and Postgres float.`}
Each figure sits beside its ceiling measured in the same run; each group runs its pairs several times and reports the median and the spread ((max − min) / median).
Machine-readable: [bench/results.json](bench/results.json) (\`value\`, \`unit\`, \`ceiling\`, \`ratio\`, \`runs\`, p50/p99 in ms).

| measurement | value | ceiling | ratio | latency |
| --- | --- | --- | --- | --- |
${summary}

${[...previousGroups.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([g, body]) => `<!-- group:${g} -->\n${body}<!-- /group:${g} -->`)
  .join("\n\n")}
`;
writeFileSync(mdPath, doc);
writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
// the figures docs/guarantees.md shows, from the results just written
regenerate(join(here, ".."), ["docs/guarantees.md"]);
console.error(
  `bench: wrote BENCHMARKS.md, bench/results.json and docs/guarantees.md's figures${failures.length ? `; FAILED: ${failures.join(", ")}` : ""}`,
);
process.exit(failures.length > 0 ? 1 : 0);
