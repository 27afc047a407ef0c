/**
 * What several OpenAI projects cost the gateway (docs/openai-projects.md):
 * - one signature check (verifySignature, in this process) over 1, 2 and 20 secrets:
 *   one HMAC-SHA256 of the body per secret, no early exit;
 * - the gateway with 10 projects of 2 secrets each, saturated on the unpinned URL
 *   (`/webhooks/openai`: every project's 20 secrets tried) and on a project's pinned URL
 *   (`/webhooks/openai/<project>`: its 2), taking turns, as production runs it.
 */
import { decodeSecrets, verifySignature } from "@hookstream/gateway";
import { eventBody, freePort, signWebhook } from "@hookstream/testing";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { BenchSection } from "../types";
import { type LoadResult, saturate, signRequests } from "./load";
import { cpuMs, type Proc, SERVER_CPU, settle, startService, waitReady } from "./proc";
import { fmt, median, RUNS, round, summarize } from "./stats";

const PROJECTS = 10;
const SECRETS_PER_PROJECT = 2;

const secretOf = (p: number, s: number) =>
  `whsec_${Buffer.from(`bench-project-${p}-secret-${s}-0123456789abcdef`).toString("base64")}`;

/** µs per verifySignature call with `keyCount` keys, the matching one last, median of `runs` timed loops. */
function checkMicros(keyCount: number, runs: number): number[] {
  const secrets = Array.from({ length: keyCount }, (_, i) => secretOf(i, 0));
  const keys = decodeSecrets(secrets);
  // a body of the size the STACK notes measured (~360 bytes), signed with the last key
  const body = eventBody("batch.completed", {
    id: "evt_bench",
    data: { id: "batch_bench", object: "batch" },
  });
  const signed = signWebhook(secrets.at(-1) as string, body);
  const input = {
    keys,
    webhookId: signed.headers["webhook-id"],
    timestamp: signed.headers["webhook-timestamp"],
    signatureHeader: signed.headers["webhook-signature"],
    body: Buffer.from(body),
    nowMs: Date.now(),
    toleranceSec: 300,
  };
  const iterations = Math.max(2_000, Math.round(200_000 / keyCount));
  for (let i = 0; i < iterations / 4; i++) verifySignature(input); // warm-up
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      if (!verifySignature(input).ok) throw new Error("the bench's own signature did not verify");
    }
    out.push(round(((performance.now() - t0) * 1000) / iterations, 2));
  }
  return out;
}

export interface ProjectsBenchOptions {
  natsUrl: string;
  namespace: string;
  stream: string;
  jsm: JetStreamManager;
  durationSec: number;
  connections: number;
}

/** The section "OpenAI projects: 10 projects × 2 secrets, unpinned vs pinned URL". */
export async function measureProjects(opts: ProjectsBenchOptions): Promise<BenchSection> {
  const micro = Object.fromEntries([1, 2, 20].map((n) => [n, checkMicros(n, RUNS)])) as Record<
    number,
    number[]
  >;

  const projects = Array.from({ length: PROJECTS }, (_, p) => ({
    name: `p${p}`,
    secrets: Array.from({ length: SECRETS_PER_PROJECT }, (_, s) => secretOf(p, s)),
  }));
  // requests signed by the last project's second secret: where an early exit would cost most
  const last = projects.at(-1) as (typeof projects)[number];
  const signing = last.secrets.at(-1) as string;
  const port = await freePort();
  const proc: Proc = startService(
    "gateway",
    {
      NATS_URL: opts.natsUrl,
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: "127.0.0.1",
      HOOKSTREAM_NAMESPACE: opts.namespace,
      OPENAI_PROJECTS: JSON.stringify(projects),
      LOG_LEVEL: "warn",
    },
    SERVER_CPU,
  );
  const base = `http://127.0.0.1:${port}/webhooks/openai`;
  const urls = { unpinned: base, pinned: `${base}/${last.name}` };
  const sat: Record<keyof typeof urls, LoadResult[]> = { unpinned: [], pinned: [] };
  const cpu: Record<keyof typeof urls, number[]> = { unpinned: [], pinned: [] };
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, proc);
    const pool = opts.durationSec * 16_000;
    for (const url of Object.values(urls))
      await saturate(url, signRequests(10_000, "pw", signing), {
        durationSec: 1,
        connections: opts.connections,
      });
    for (let i = 0; i < RUNS; i++) {
      const order: Array<keyof typeof urls> = i % 2 === 0 ? ["unpinned", "pinned"] : ["pinned", "unpinned"];
      for (const which of order) {
        const reqs = signRequests(pool, `p${which}${i}`, signing);
        await opts.jsm.streams.purge(opts.stream);
        settle();
        const before = cpuMs(proc.child.pid);
        const r = await saturate(urls[which], reqs, {
          durationSec: opts.durationSec,
          connections: opts.connections,
        });
        sat[which].push(r);
        cpu[which].push(round(((cpuMs(proc.child.pid) - before) * 1000) / Math.max(1, r.requests)));
        console.error(`bench: projects run ${i + 1}/${RUNS} ${which}: ${r.rps} req/s, p99 ${r.p99} ms`);
      }
    }
  } finally {
    await proc.stop();
  }

  const m = (rs: LoadResult[]) =>
    summarize(
      "req/s",
      rs.map((r) => ({ value: r.rps, ceiling: null, ratio: null, p50: r.p50, p99: r.p99 })),
    );
  const unpinned = m(sat.unpinned);
  const pinned = m(sat.pinned);
  const ratios = sat.unpinned.map((r, i) => round(r.rps / (sat.pinned[i]?.rps ?? Number.NaN), 3));
  const perKey = round((median(micro[20] ?? []) - median(micro[2] ?? [])) / 18, 2);
  const errors = [...sat.unpinned, ...sat.pinned].reduce((a, r) => a + r.non2xx + r.errors, 0);
  return {
    title: `OpenAI projects: ${PROJECTS} projects × ${SECRETS_PER_PROJECT} secrets, unpinned vs pinned URL`,
    command: `npm run bench -- gateway (the gateway with OPENAI_PROJECTS of ${PROJECTS} projects; wrk, ${opts.connections} connections, ${opts.durationSec} s × ${RUNS} runs each URL, alternating)`,
    rows: [
      ...(["unpinned", "pinned"] as const).map((which) => {
        const s = which === "unpinned" ? unpinned : pinned;
        return {
          url:
            which === "unpinned"
              ? "/webhooks/openai (20 secrets tried)"
              : `/webhooks/openai/${last.name} (2 tried)`,
          "req/s median (spread)": fmt(s),
          "runs req/s": sat[which].map((r) => r.rps).join(", "),
          "CPU µs/req": median(cpu[which]),
          "p50 ms": s.p50 ?? "",
          "p99 ms": s.p99 ?? "",
        };
      }),
      ...[1, 2, 20].map((n) => ({
        url: `verifySignature alone, ${n} secret${n > 1 ? "s" : ""} (in process)`,
        "req/s median (spread)": "",
        "runs req/s": "",
        "CPU µs/req": `${median(micro[n] ?? [])} µs per check (runs ${(micro[n] ?? []).join(", ")})`,
        "p50 ms": "",
        "p99 ms": "",
      })),
    ],
    notes: [
      `Unpinned / pinned req/s per run: ${ratios.join(", ")} (median ${median(ratios)}); CPU µs/req unpinned − pinned: ${round(median(cpu.unpinned) - median(cpu.pinned), 1)}.`,
      `A signature check over 20 secrets costs ${median(micro[20] ?? [])} µs against ${median(micro[2] ?? [])} µs over 2 and ${median(micro[1] ?? [])} µs over 1 (a ~360-byte body): about ${perKey} µs per extra secret, one HMAC-SHA256 each, every secret tried (no early exit, so the time does not tell which project matched).`,
      `Requests are signed with the last project's second secret; each is a distinct event. ${errors} non-2xx or socket errors.`,
      "This machine is shared with other engineers' test runs (load average well above its 2 cores while measured): the absolute figures are noisy, the unpinned/pinned pairs taken back to back are the reading.",
    ],
  };
}
