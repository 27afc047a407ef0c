/**
 * Unsafe configuration refuses to start, through the running services (their exit code
 * and what they print), as an operator would see it (issue 21, item 7; docs/security.md).
 */
import {
  deleteNamespaceStreams,
  freePort,
  ServiceProcess,
  TEST_SECRET,
  uniqueNamespace,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, inject, it } from "vitest";

const natsUrl = inject("natsUrl");
const databaseUrl = inject("databaseUrl");

/** Runs a service until it exits (a refusal) or is ready (then stops it); its exit code and output. */
async function run(
  service: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string; messages: string; ready: boolean }> {
  const port = await freePort();
  const portVar = service === "gateway" ? "GATEWAY_PORT" : "AUDIT_PORT";
  const namespace = uniqueNamespace("unsafe");
  const proc = new ServiceProcess({
    service,
    port,
    env: {
      NATS_URL: natsUrl,
      DATABASE_URL: databaseUrl,
      HOOKSTREAM_NAMESPACE: namespace,
      HTTP_HOST: "127.0.0.1",
      [portVar]: String(port),
      // nothing inherited from the shell running the tests
      OPENAI_WEBHOOK_SECRET: "",
      WEBHOOK_PROVIDERS: "",
      ADMIN_TOKEN: "",
      ADMIN_TOKENS: "",
      NODE_ENV: "",
      ...env,
    },
  });
  let ready = false;
  try {
    await proc.ready(30_000);
    ready = true;
    await proc.terminate();
  } catch {
    // exited before ready: the refusal under test
  }
  const { code } = await proc.exit;
  // a service that started made its namespace's streams: delete them (the shared server keeps nothing of a test)
  if (ready) {
    const nc = await connect({ servers: natsUrl.split(",") });
    try {
      await deleteNamespaceStreams(await jetstreamManager(nc), namespace);
    } finally {
      await nc.close();
    }
  }
  // the log lines' messages, unescaped (the raw output is checked for what must never show)
  const messages = proc.output
    .map((line) => {
      try {
        return String((JSON.parse(line) as { msg?: unknown }).msg ?? "");
      } catch {
        return line;
      }
    })
    .join("\n");
  return { code, output: proc.output.join("\n"), messages, ready };
}

describe("a production gateway without its secret", () => {
  it("exits non-zero naming OPENAI_WEBHOOK_SECRET when it is unset", async () => {
    const r = await run("gateway", { NODE_ENV: "production" });
    expect(r.ready).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.messages).toMatch(/OPENAI_WEBHOOK_SECRET: .*NODE_ENV=production/);
  });

  it("exits non-zero naming OPENAI_WEBHOOK_SECRET when it is blank", async () => {
    const r = await run("gateway", { NODE_ENV: "production", OPENAI_WEBHOOK_SECRET: "  " });
    expect(r.code).not.toBe(0);
    expect(r.messages).toMatch(/OPENAI_WEBHOOK_SECRET: .*NODE_ENV=production/);
  });

  it("starts in production with a real secret (the refusal is about the secret only)", async () => {
    // in production a service only verifies its streams (the provisioning step makes them);
    // this namespace has none, so the gateway is told to create them as the step would
    const r = await run("gateway", {
      NODE_ENV: "production",
      OPENAI_WEBHOOK_SECRET: TEST_SECRET,
      STREAM_PROVISIONING: "create",
    });
    expect(r.ready).toBe(true);
    expect(r.output).not.toMatch(/development secret/);
  });
});

describe("weak signing secrets", () => {
  it("refuses an OpenAI secret that decodes to fewer than 24 bytes", async () => {
    const r = await run("gateway", { OPENAI_WEBHOOK_SECRET: "whsec_" });
    expect(r.code).not.toBe(0);
    expect(r.messages).toMatch(/OPENAI_WEBHOOK_SECRET: .*0 bytes.*at least 24/);
  });

  it("refuses a provider secret that decodes to fewer than 24 bytes, without printing it", async () => {
    const r = await run("gateway", {
      OPENAI_WEBHOOK_SECRET: TEST_SECRET,
      WEBHOOK_PROVIDERS: JSON.stringify([{ name: "acme", secrets: ["whsec_QUJD"], envelope: "standard" }]),
    });
    expect(r.code).not.toBe(0);
    expect(r.messages).toMatch(/WEBHOOK_PROVIDERS: .*"acme" secrets\[0\]: .*3 bytes.*at least 24/);
    expect(r.output).not.toContain("QUJD");
  });
});

describe("admin tokens", () => {
  it("refuses a malformed ADMIN_TOKENS without printing the token", async () => {
    const token = "s3cr3t-admin-token-without-a-label";
    const r = await run("audit", { ADMIN_TOKENS: token });
    expect(r.code).not.toBe(0);
    expect(r.messages).toMatch(/ADMIN_TOKENS: entry 1 .*label:token/);
    expect(r.output).not.toContain(token);
    expect(r.output).not.toContain("s3cr3t");
  });

  it("refuses admin tokens shorter than 16 characters, without printing them", async () => {
    const r = await run("audit", { ADMIN_TOKEN: "short-tok", ADMIN_TOKENS: "ops:tiny-token" });
    expect(r.code).not.toBe(0);
    expect(r.messages).toMatch(/ADMIN_TOKEN: .*at least 16/);
    expect(r.messages).toMatch(/ADMIN_TOKENS: entry 1 \("ops"\).*at least 16/);
    expect(r.output).not.toContain("short-tok");
    expect(r.output).not.toContain("tiny-token");
  });
});
