/**
 * `npm run bench`: runs every bench/*.bench.ts in sequence (or those named on the
 * command line, e.g. `npm run bench -- gateway`) and writes BENCHMARKS.md with the
 * machine, the date and the command. Each benchmark measures its ceiling in the
 * same run, so ratios hold even when the machine is slower or busier.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchSection } from "./types";

const here = dirname(fileURLToPath(import.meta.url));

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0] ?? "?";
  } catch {
    return "not found";
  }
}

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

const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const sections: string[] = [];
for (const file of files) {
  console.error(`bench: ${file} …`);
  const mod = (await import(join(here, file))) as { default: () => Promise<BenchSection | BenchSection[]> };
  const result = await mod.default();
  for (const s of Array.isArray(result) ? result : [result]) {
    const notes = s.notes === undefined ? [] : Array.isArray(s.notes) ? s.notes : [s.notes];
    sections.push(
      [
        `## ${s.title}`,
        s.command ? `\nCommand: \`${s.command}\`\n` : "",
        table(s.rows),
        notes.length > 0 ? `\n${notes.map((n) => `- ${n}`).join("\n")}` : "",
      ].join("\n"),
    );
    console.error(table(s.rows));
  }
}

const cpu = os.cpus()[0]?.model ?? "unknown cpu";
const doc = `# Benchmarks

Written by \`npm run bench${wanted.length ? ` -- ${wanted.join(" ")}` : ""}\` on ${new Date().toISOString()}.

Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()};
Node ${process.version}; ${version("nats-server", ["--version"])}; ${version("postgres", ["--version"])}.
NATS and Postgres are the local servers (loopback), shared by the load generator and the code measured:
every figure sits beside its ceiling measured in the same run on the same cores.

${sections.join("\n\n")}
`;
writeFileSync(join(here, "..", "BENCHMARKS.md"), doc);
console.error("bench: wrote BENCHMARKS.md");
process.exit(0);
