/**
 * `npm run soak -- --minutes 60 --rate 200`: the whole system for an hour under
 * rotating SIGKILLs (bench/lib/soak.ts), then bench/soak.json, bench/soak.svg and the
 * `soak` section of BENCHMARKS.md, written from what it measured. Exits 1 when a
 * check failed (the files are written all the same).
 *
 * Options: --minutes N (60), --rate R events/s (200), --kill-every-min M (5 from 60
 * minutes on, else minutes / 12), --max-kills K, --no-nats-kill, --warmup-min M
 * (10, or minutes / 6), --window-min M (5, or minutes / 12), --out DIR (write the
 * three files there instead: a trial run leaves the committed ones alone).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { machineDescription, withGroupSection } from "./lib/machine";
import { machineLoad } from "./lib/proc";
import { runSoak } from "./lib/soak";
import { soakSection, soakSvg } from "./lib/soakReport";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    rate: { type: "string", default: "200" },
    "kill-every-min": { type: "string" },
    "max-kills": { type: "string" },
    "no-nats-kill": { type: "boolean", default: false },
    "warmup-min": { type: "string" },
    "window-min": { type: "string" },
    out: { type: "string" },
  },
});
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0) || !(rate > 0)) {
  console.error("soak: --minutes and --rate must be positive numbers");
  process.exit(2);
}
const minMs = (v: string | undefined) => (v === undefined ? undefined : Number(v) * 60_000);

// the services run compiled, as npm start runs them: build first (a cache hit when nothing changed)
execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
const load = machineLoad();
const started = Date.now();
const report = await runSoak({
  minutes,
  rate,
  databaseServerUrl: process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres",
  killEveryMs: minMs(values["kill-every-min"]),
  maxKills: num(values["max-kills"]),
  natsKill: !values["no-nats-kill"],
  warmupMs: minMs(values["warmup-min"]),
  windowMs: minMs(values["window-min"]),
});

const outDir = values.out ?? join(ROOT, "bench");
mkdirSync(outDir, { recursive: true });
const mdPath = values.out ? join(outDir, "BENCHMARKS.md") : join(ROOT, "BENCHMARKS.md");
const svgPath = join(outDir, "soak.svg");
writeFileSync(join(outDir, "soak.json"), `${JSON.stringify(report.json, null, 2)}\n`);
writeFileSync(svgPath, soakSvg(report));
const args = process.argv.slice(2).join(" ");
const section = soakSection(report, {
  command: `npm run soak${args ? ` -- ${args}` : ""}`,
  machine: machineDescription(),
  load: `${load} when it started`,
  svg: relative(dirname(mdPath), svgPath),
  seconds: (Date.now() - started) / 1000,
});
const doc = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : "# Benchmarks\n";
writeFileSync(mdPath, withGroupSection(doc, "soak", section));
const failed = report.checks.filter((c) => !c.ok);
console.error(
  `soak: wrote ${relative(ROOT, join(outDir, "soak.json"))}, ${relative(ROOT, svgPath)} and ${relative(ROOT, mdPath)}${failed.length ? `; FAILED: ${failed.map((c) => c.name).join("; ")}` : "; every check held"}`,
);
process.exit(failed.length > 0 ? 1 : 0);
