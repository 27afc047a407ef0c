/**
 * Fenced leases (issue 22): two instances of one handler; the one working on an event
 * is paused (SIGSTOP) past its lease, the other takes the event over and finishes it,
 * then the first is resumed. The resumed one must stop before its next side effect
 * and hand its message back: each side effect after the takeover happens once.
 * (Before the fence it went on: the second effect ran twice, once per instance.)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  freePort,
  publishEvent,
  ServiceProcess,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";

const topology = testTopology("lease");
const db = await createTestDatabase(inject("databaseUrl"), "lease");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const sql = new pg.Pool({ connectionString: db.url, max: 2 });

interface Effect {
  step: string;
  pid: number;
}
const effects: Effect[] = [];
// the first `/first` request is held until the test lets it go
let held: ServerResponse | null = null;
const target = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { pid: number };
    const step = (req.url ?? "").slice(1);
    effects.push({ step, pid: body.pid });
    if (step === "first" && held === null && effects.length === 1) held = res;
    else res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

const processes: ServiceProcess[] = [];
async function startInstance(): Promise<ServiceProcess> {
  const port = await freePort();
  const p = new ServiceProcess({
    service: "batch-handler",
    main: "packages/handler-kit/testing/twoStepHandler.ts",
    port,
    env: {
      NATS_URL: natsUrl,
      DATABASE_URL: db.url,
      HOOKSTREAM_NAMESPACE: topology.namespace,
      BATCH_HANDLER_PORT: String(port),
      LEASE_TEST_TARGET: targetUrl,
      // the lease is the ack wait: short, so the takeover comes soon after the pause
      HANDLER_ACK_WAIT_MS: "2000",
      HANDLER_BASE_DELAY_MS: "100",
      HANDLER_MAX_DELAY_MS: "500",
      LOG_LEVEL: "info",
    },
  });
  processes.push(p);
  await p.ready(60_000);
  return p;
}

afterAll(async () => {
  for (const p of processes) {
    p.kill("SIGCONT");
    p.kill("SIGKILL");
  }
  await Promise.all(processes.map((p) => p.exit));
  held?.destroy();
  await new Promise((resolve) => target.close(resolve));
  await deleteStreams(await jetstreamManager(nc), topology);
  await nc.close();
  await sql.end();
  await db.drop();
});

describe("a delivery that lost its lease", () => {
  it("stops before its next side effect and hands the message back, so no effect runs twice after a takeover", async () => {
    const a = await startInstance();
    await publishEvent(jetstream(nc), topology, eventBody("batch.completed", { id: "evt_lease_1" }));
    // A is inside its first side effect, holding the lease
    await eventually(() => (held ? true : undefined), { timeoutMs: 30_000, message: "A's first effect" });
    expect(effects).toEqual([{ step: "first", pid: a.pid }]);

    const b = await startInstance();
    a.kill("SIGSTOP");
    // the answer waits in A's socket until A runs again
    held?.writeHead(200).end();

    // A renews nothing while stopped: the server redelivers to B, which takes the lease over
    await eventually(
      async () => {
        const rows = await sql.query("SELECT completed_at FROM inbox_batch WHERE event_id = $1", [
          "evt_lease_1",
        ]);
        return rows.rows[0]?.completed_at ? true : undefined;
      },
      { timeoutMs: 60_000, message: "B completes the event" },
    );
    expect(effects.filter((e) => e.pid === b.pid).map((e) => e.step)).toEqual(["first", "second"]);

    a.kill("SIGCONT");
    // A wakes up inside its first effect: it either goes on (the bug) or finds its lease gone
    await eventually(
      () =>
        a.output.some((l) => l.includes("evt_lease_1") && /"msg":"(handled|lease lost[^"]*)"/.test(l))
          ? true
          : undefined,
      { timeoutMs: 30_000, message: "A's verdict after it resumes" },
    );
    const second = effects.filter((e) => e.step === "second");
    expect(second, "the second effect, once, by the instance that holds the lease").toEqual([
      { step: "second", pid: b.pid },
    ]);
    expect(a.output.some((l) => /"msg":"lease lost/.test(l))).toBe(true);
    // two processes started one after the other, a pause past the lease: minutes on a loaded machine
  }, 240_000);
});
