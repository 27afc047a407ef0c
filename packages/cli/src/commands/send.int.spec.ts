import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { TEST_SECRET } from "@hookstream/testing";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../runCli";

/** A stand-in gateway that checks each request with the openai SDK's own verifier. */
const verified: Array<{ id: string; type: string; data: unknown }> = [];
const sdk = new OpenAI({ apiKey: "unused", webhookSecret: TEST_SECRET });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    try {
      const event = await sdk.webhooks.unwrap(
        Buffer.concat(chunks).toString("utf8"),
        req.headers as Record<string, string>,
      );
      verified.push(event as never);
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"accepted"}');
    } catch (err) {
      res.writeHead(401).end(String(err));
    }
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/openai`;

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("hookstream send", () => {
  it("signs so that the openai SDK's webhooks.unwrap accepts it", async () => {
    const r = await runCli(
      [
        "send",
        "fine_tuning.job.succeeded",
        "--data",
        '{"id":"ftjob-cli"}',
        "--id",
        "evt_cli_1",
        "--url",
        url,
      ],
      {
        OPENAI_WEBHOOK_SECRET: `${TEST_SECRET}, whsec_b3RoZXI=`,
      },
    );
    expect(r.code, r.err).toBe(0);
    expect(verified.at(-1)).toMatchObject({
      id: "evt_cli_1",
      type: "fine_tuning.job.succeeded",
      data: { id: "ftjob-cli" },
    });
  });

  it("refuses bad --data with a clear message and exit code 2", async () => {
    const r = await runCli(["send", "batch.completed", "--data", "{nope", "--url", url], {});
    expect(r.code).toBe(2);
    expect(r.err).toContain("--data is not JSON");
  });

  it("asks for an event type", async () => {
    const r = await runCli(["send"], {});
    expect(r.code).toBe(2);
    expect(r.err).toContain("an event type is needed");
  });
});
