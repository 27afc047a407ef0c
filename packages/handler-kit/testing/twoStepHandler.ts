/**
 * A handler process for the fenced-lease test (src/fencedLease.int.spec.ts): the
 * `batch` handler's shell with two side effects per event, each a POST to
 * LEASE_TEST_TARGET (`/first`, then `/second`) done through `once`, so the test sees
 * which process did which effect, and how many times.
 */
import { RetryableError } from "@hookstream/messaging";
import { runHandlerMain } from "../src/runHandlerMain";

const target = process.env.LEASE_TEST_TARGET ?? "";

async function effect(step: string, eventId: string): Promise<void> {
  const res = await fetch(`${target}/${step}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ event_id: eventId, pid: process.pid }),
  });
  if (!res.ok) throw new RetryableError(`${step}: ${res.status}`);
}

await runHandlerMain({
  handler: "batch",
  async process(ctx) {
    await ctx.once("first", () => effect("first", ctx.event.id));
    await ctx.once("second", () => effect("second", ctx.event.id));
  },
});
