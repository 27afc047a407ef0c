import { randomBytes } from "node:crypto";
import { makeTopology, type Topology } from "@hookstream/contracts";
import type { JetStreamManager } from "@nats-io/jetstream";
import pg from "pg";

/** A namespace no other test file or run uses: streams `<ns>_WEBHOOKS`, subjects `<ns>.webhooks.>`. */
export function uniqueNamespace(label = "t"): string {
  return `${label.replace(/[^a-z0-9]/gi, "").toLowerCase()}${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

export function testTopology(label?: string): Topology {
  return makeTopology(uniqueNamespace(label));
}

/** Deletes every stream and KV bucket of a test topology (and only those). */
export async function deleteStreams(jsm: JetStreamManager, topology: Topology): Promise<void> {
  for (const name of Object.values(topology.streams)) {
    await jsm.streams.delete(name).catch(() => {});
  }
  // a KV bucket is the stream KV_<bucket>
  for (const bucket of Object.values(topology.buckets)) {
    await jsm.streams.delete(`KV_${bucket}`).catch(() => {});
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database for one test file, dropped WITH (FORCE) afterwards. */
export async function createTestDatabase(serverUrl: string, label = "hs"): Promise<TestDatabase> {
  const name = uniqueNamespace(label);
  const admin = new URL(serverUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Polls until `check` returns a value that is not undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  {
    timeoutMs = 20_000,
    intervalMs = 50,
    message = "condition",
  }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${message}${last ? `: ${String(last)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
