/**
 * The delivery group's ceiling: a minimal loop that POSTs the same bodies the delivery
 * service sends, with the same number of requests in flight, to the same receiver, and
 * nothing else: no JetStream, no filter, no signature, no breaker, no retry, no record.
 * `client` picks undici's pool (`dispatch`, the answer's body dropped) or Node's http client
 * with a keep-alive agent; the bench takes the faster as the ceiling. `POST /run`
 * `{ url, file, concurrency, client }` reads the
 * bodies (one JSON string per line of `file`), sends them all and answers
 * `{ ms, ok, failed }`. Compiled and run as the delivery service is (bench/lib/proc.ts,
 * startCompiled: esbuild bundle, the services' environment, LOG_LEVEL=info).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { Pool } from "undici";
import { dispatchPost } from "./dispatchPost";
import { serveRuns } from "./runControl";

interface RunRequest {
  url: string;
  file: string;
  concurrency: number;
  client: "http" | "undici";
}

function poster(target: URL, client: RunRequest["client"], concurrency: number) {
  if (client === "undici") {
    // the pool's dispatch with a handler: no response stream (10 % faster than `request`
    // here), as the delivery service sends
    const pool = new Pool(target.origin, { connections: concurrency });
    return (body: string) =>
      new Promise<boolean>((resolve) => dispatchPost(pool, target.pathname, body, resolve));
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  return (body: string) =>
    new Promise<boolean>((resolve) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        },
      );
      req.on("error", () => resolve(false));
      req.end(body);
    });
}

async function runLoop(r: RunRequest): Promise<{ ms: number; ok: number; failed: number }> {
  const bodies = readFileSync(r.file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string);
  const post = poster(new URL(r.url), r.client, r.concurrency);
  let next = 0;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: r.concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        if (await post(body)) ok++;
        else failed++;
      }
    }),
  );
  return { ms: performance.now() - started, ok, failed };
}

serveRuns<RunRequest>(runLoop);
