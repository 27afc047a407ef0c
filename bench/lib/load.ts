/**
 * Load generators: Debian's `wrk` (closed loop, for saturation) fed pre-signed unique
 * requests through bench/lib/signed.lua, and an open-loop sender in Node for fixed
 * rates (wrk2 is not in Debian, and Debian's wrk has no -R). autocannon is the
 * fallback when wrk cannot be installed; the result says which one ran.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { eventBody, signWebhook, TEST_SECRET } from "@hookstream/testing";
import { LOAD_CPU, pinned, ROOT } from "./proc";
import { percentile } from "./stats";

export interface LoadResult {
  tool: "wrk" | "autocannon";
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** more requests than unique ones were sent: the tail repeated ids (dedup path) */
  wrapped: boolean;
}

let wrkChecked: boolean | null = null;

/** Installs Debian's wrk when missing; false when that is not possible. */
export function ensureWrk(): boolean {
  if (wrkChecked !== null) return wrkChecked;
  const has = () => {
    try {
      execFileSync("wrk", ["-v"], { stdio: "ignore" });
      return true;
    } catch (err) {
      // wrk -v exits 1 after printing its version
      return (err as { status?: number }).status === 1;
    }
  };
  if (!has()) {
    try {
      console.error("bench: installing wrk (apt-get install -y wrk)");
      execFileSync("apt-get", ["install", "-y", "wrk"], { stdio: "ignore" });
    } catch {
      try {
        execFileSync("apt-get", ["update"], { stdio: "ignore" });
        execFileSync("apt-get", ["install", "-y", "wrk"], { stdio: "ignore" });
      } catch {
        // falls back to autocannon
      }
    }
  }
  wrkChecked = has();
  return wrkChecked;
}

export interface SignedRequest {
  id: string;
  headers: Record<string, string>;
  body: string;
}

/** `count` distinct events, signed now (the gateway allows 300 s of skew). */
export function signRequests(count: number, label = "b", secret = TEST_SECRET): SignedRequest[] {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, i) => {
    const id = `evt_${label}${run}_${i}`;
    const signed = signWebhook(
      secret,
      eventBody("batch.completed", { id, data: { id: `batch_${i}`, object: "batch", status: "completed" } }),
    );
    return { id, headers: signed.headers, body: signed.body };
  });
}

function writeRequestFile(reqs: SignedRequest[]): string {
  const file = join(os.tmpdir(), `hookstream-bench-${process.pid}-${randomUUID().slice(0, 6)}.tsv`);
  writeFileSync(
    file,
    reqs
      .map(
        (r) =>
          `${r.headers["webhook-id"]}\t${r.headers["webhook-timestamp"]}\t${r.headers["webhook-signature"]}\t${r.body}`,
      )
      .join("\n"),
  );
  return file;
}

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : v * 60_000;
}

/** Closed-loop saturation with wrk (one thread, pinned to the load core), or autocannon. */
export async function saturate(
  url: string,
  reqs: SignedRequest[],
  opts: { durationSec: number; connections: number },
): Promise<LoadResult> {
  if (!ensureWrk()) return autocannonLoad(url, reqs, opts);
  const file = writeRequestFile(reqs);
  const [cmd, args] = pinned(LOAD_CPU, "wrk", [
    "-t1",
    `-c${opts.connections}`,
    `-d${opts.durationSec}s`,
    "--latency",
    "--timeout",
    "10s",
    "-s",
    join(ROOT, "bench", "lib", "signed.lua"),
    url,
  ]);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, BENCH_REQUESTS: file, BENCH_PATH: new URL(url).pathname },
    });
    let text = "";
    child.stdout.on("data", (b: Buffer) => {
      text += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      text += b.toString();
    });
    child.on("error", reject);
    child.on("exit", () => resolve(text));
  });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const requests = num(/(\d+) requests in/);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const result: LoadResult = {
    tool: "wrk",
    rps: Math.round(num(/Requests\/sec:\s+([\d.]+)/)),
    p50: ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ""),
    p99: ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ""),
    requests,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    errors: socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    wrapped: requests > reqs.length,
  };
  if (!Number.isFinite(result.rps)) throw new Error(`cannot read wrk's output:\n${out}`);
  return result;
}

async function autocannonLoad(
  url: string,
  reqs: SignedRequest[],
  opts: { durationSec: number; connections: number },
): Promise<LoadResult> {
  const { default: autocannon } = await import("autocannon");
  let next = 0;
  const r = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.durationSec,
    method: "POST",
    requests: [
      {
        setupRequest(req) {
          const s = reqs[next++ % reqs.length] as SignedRequest;
          return { ...req, method: "POST", body: s.body, headers: s.headers };
        },
      },
    ],
  });
  return {
    tool: "autocannon",
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    wrapped: r.requests.total > reqs.length,
  };
}

export interface OpenLoopResult {
  target: number;
  achieved: number;
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** when each 200 arrived (epoch ms), by event id */
  okAt: Map<string, number>;
}

/**
 * Open loop: request i leaves at start + i/rate whatever the answers take, and its
 * latency counts from that scheduled moment (no coordinated omission: a stalled
 * server is charged for the requests it kept waiting). Keep-alive connections,
 * a bounded pool, requests signed beforehand.
 */
export async function openLoop(
  url: string,
  reqs: SignedRequest[],
  rate: number,
  onOk?: (id: string, atMs: number) => void,
): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(url);
  const latencies: number[] = [];
  const okAt = new Map<string, number>();
  let failed = 0;
  const start = performance.now();
  const epoch0 = Date.now() - start;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const r = reqs[i] as SignedRequest;
    // late: counts from when it was due (the stall is the server's to answer for);
    // sent up to 1 ms early: from when it left (never from a moment still to come, which
    // gave a fast answer a negative latency)
    const from = Math.min(due, performance.now());
    inFlight.push(
      new Promise<void>((resolve) => {
        const req = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: "POST",
            agent,
            headers: { ...r.headers, "content-length": Buffer.byteLength(r.body) },
          },
          (res) => {
            res.resume();
            res.on("end", () => {
              const now = performance.now();
              if (res.statusCode === 200) {
                latencies.push(now - from);
                okAt.set(r.id, epoch0 + now);
                onOk?.(r.id, epoch0 + now);
              } else failed++;
              resolve();
            });
          },
        );
        req.on("error", () => {
          failed++;
          resolve();
        });
        req.end(r.body);
      }),
    );
  }
  // the rate the requests left at (the last answers' latency is not the sender's pace)
  const seconds = Math.max(performance.now() - start, (reqs.length * 1000) / rate) / 1000;
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    target: rate,
    achieved: Math.round(reqs.length / seconds),
    sent: reqs.length,
    ok: latencies.length,
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    okAt,
  };
}
