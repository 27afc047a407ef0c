import { eventBody, NotificationReceiver, publishEvent } from "@hookstream/testing";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { everyIdStoredOnce, type System, sleep, system } from "./harness";

const receiver = await NotificationReceiver.start();
let sys: System;

afterAll(async () => {
  try {
    await sys?.stop();
  } finally {
    await receiver.close();
  }
});

async function counter(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, "gm"))].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

describe("three instances each of the audit and of a handler on one stream", () => {
  it("each instance does part of the work and every event is handled once", async () => {
    sys = await system("fscale", {
      natsUrl: inject("natsUrl"),
      databaseUrl: inject("databaseUrl"),
      env: { NOTIFY_URLS: receiver.url("/notify"), AUDIT_BATCH_SIZE: "20", HANDLER_CONCURRENCY: "2" },
    });
    const audits = [];
    const handlers = [];
    for (let i = 0; i < 3; i++) {
      audits.push(await sys.start("audit"));
      handlers.push(await sys.start("batch-handler"));
    }
    // the notifications go out through the delivery service
    await sys.start("delivery");
    const nc = await connect({ servers: inject("natsUrl").split(","), noAsyncTraces: true });
    const js = jetstream(nc);
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const body = eventBody("batch.completed", { data: { id: `batch_${i}` } });
      ids.push(JSON.parse(body).id);
      await publishEvent(js, sys.topology, body);
      if (i % 100 === 99) await sleep(100);
    }
    await everyIdStoredOnce(sys, ids, 90_000);
    const deadline = Date.now() + 60_000;
    while (receiver.on("/notify").length < ids.length && Date.now() < deadline) await sleep(250);
    // a little longer: a second POST of some key would come after the first ones
    await sleep(1_000);
    const perKey = new Map<string, number>();
    for (const n of receiver.on("/notify")) {
      const key = n.headers["idempotency-key"] as string;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    expect(ids.filter((id) => perKey.get(id) !== 1)).toEqual([]);
    expect(perKey.size).toBe(ids.length);

    const inserted = await Promise.all(
      audits.map((a) => counter(a.opts.port, "hookstream_audit_rows_inserted_total")),
    );
    const processed = await Promise.all(
      handlers.map((h) => counter(h.opts.port, "hookstream_handler_processed_total")),
    );
    expect(inserted.every((n) => n > 0)).toBe(true);
    expect(processed.every((n) => n > 0)).toBe(true);
    expect(processed.reduce((a, b) => a + b, 0)).toBe(ids.length);
    await nc.close();
  });
});
