/**
 * The delivery group's floor: what any delivery service built on this client pays at
 * least — each message pulled from a JetStream durable (`consume`, 256 pulled ahead, as
 * the delivery service pulls), its body POSTed with undici's pool (`dispatch`, `concurrency` in
 * flight), and acked, the acks of one event-loop turn in one write (as the delivery
 * service settles). Nothing else: no filter, no signature, no trace, no breaker, no
 * record. `POST /run` `{ stream, durable, url, count, concurrency }` takes `count`
 * messages and answers `{ ms, ok, failed }`. Compiled and run as the delivery service is.
 */
import { type JsMsg, jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Pool } from "undici";
import { dispatchPost } from "./dispatchPost";
import { serveRuns } from "./runControl";

interface RunRequest {
  stream: string;
  durable: string;
  url: string;
  count: number;
  concurrency: number;
}

// as the services connect (packages/messaging: no stack captured per request)
const nc = await connect({
  servers: (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(","),
  noAsyncTraces: true,
});
const js = jetstream(nc);

async function runFloor(r: RunRequest): Promise<{ ms: number; ok: number; failed: number }> {
  const target = new URL(r.url);
  const pool = new Pool(target.origin, { connections: r.concurrency });
  const settling: Array<() => void> = [];
  let scheduled = false;
  const settle = (fn: () => void) => {
    settling.push(fn);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      for (const f of settling.splice(0)) f();
    });
  };
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const post = (msg: JsMsg) =>
    dispatchPost(pool, target.pathname, msg.data, (good) => {
      if (good) ok++;
      else failed++;
      settle(() => (good ? msg.ack() : msg.nak()));
      inFlight--;
      wake?.();
    });
  const waitBelow = (n: number) =>
    new Promise<void>((resolve) => {
      wake = () => {
        if (inFlight < n) {
          wake = null;
          resolve();
        }
      };
    });
  const consumer = await js.consumers.get(r.stream, r.durable);
  const iter = await consumer.consume({ max_messages: 256 });
  const started = performance.now();
  let taken = 0;
  for await (const msg of iter) {
    inFlight++;
    post(msg);
    if (++taken >= r.count) break;
    if (inFlight >= r.concurrency) await waitBelow(r.concurrency);
  }
  iter.stop();
  if (inFlight > 0) await waitBelow(1);
  const ms = performance.now() - started;
  await pool.close();
  return { ms, ok, failed };
}

serveRuns<RunRequest>(runFloor, () => nc.close());
