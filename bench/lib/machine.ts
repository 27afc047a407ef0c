/** What BENCHMARKS.md says about the machine a figure was measured on. */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { CORES } from "./proc";

export function toolVersion(cmd: string, args: string[]): string {
  try {
    return (
      execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
        .trim()
        .split("\n")[0] ?? "?"
    );
  } catch (err) {
    // wrk -v prints its version and exits 1
    const out = String((err as { stdout?: string }).stdout ?? "").trim();
    return out ? (out.split("\n")[0] ?? "?") : "not found";
  }
}

/** "AMD EPYC, 2 cores": what a figure was measured on, kept beside it in bench/results.json. */
export function machineShort(): string {
  return `${os.cpus()[0]?.model ?? "unknown cpu"}, ${CORES} cores`;
}

/** "Intel Xeon …, 2 cores, 8 GiB, linux 6.1; Node v20…; nats-server v2.9.10; postgres (PostgreSQL) 15…" */
export function machineDescription(opts: { wrk?: boolean } = {}): string {
  const cpu = os.cpus()[0]?.model ?? "unknown cpu";
  return (
    `${cpu}, ${CORES} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}; ` +
    `Node ${process.version}; ${toolVersion("nats-server", ["--version"])}; ${toolVersion("postgres", ["--version"])}` +
    (opts.wrk ? `; ${toolVersion("wrk", ["-v"])}` : "")
  );
}

/** Replaces (or appends) the `<!-- group:<name> -->` block of BENCHMARKS.md, leaving the rest as it is. */
export function withGroupSection(doc: string, group: string, body: string): string {
  const block = `<!-- group:${group} -->\n${body.trimEnd()}\n\n<!-- /group:${group} -->`;
  const re = new RegExp(`<!-- group:${group} -->\\n[\\s\\S]*?<!-- /group:${group} -->`);
  if (re.test(doc)) return doc.replace(re, () => block);
  return `${doc.trimEnd()}\n\n${block}\n`;
}
