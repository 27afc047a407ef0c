import { ConfigError } from "@hookstream/config";
import type { FastifyReply, FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { adminAuth, devTokenHint } from "./http/adminAuth";
import { startupProblem } from "./shutdown";

describe("a start-up failure a person can fix", () => {
  it("lists every bad variable as a plain line, not JSON", () => {
    const err = new ConfigError([
      'WEBHOOK_PROVIDERS: [0] "acme" envelope: Invalid option: expected one of "openai"|"standard"',
      'GATEWAY_PORT: must be an integer, got "x"',
    ]);
    expect(startupProblem(err, "gateway")).toBe(
      "gateway: invalid configuration:\n" +
        '  - WEBHOOK_PROVIDERS: [0] "acme" envelope: Invalid option: expected one of "openai"|"standard"\n' +
        '  - GATEWAY_PORT: must be an integer, got "x"\n',
    );
  });

  it("names a port already taken", () => {
    const err = Object.assign(new Error("listen EADDRINUSE"), {
      code: "EADDRINUSE",
      port: 3000,
      address: "0.0.0.0",
    });
    expect(startupProblem(err, "gateway")).toMatch(/^gateway: port 3000 on 0\.0\.0\.0 is already in use/);
  });

  it("leaves anything else to the logger, with its stack", () => {
    expect(startupProblem(new Error("boom"), "audit")).toBeNull();
  });
});

describe("the development token's whereabouts", () => {
  const request = { headers: {}, ip: "127.0.0.1" } as FastifyRequest;
  const reply = { header: () => reply } as unknown as FastifyReply;
  const tokens = [{ label: "admin", token: "dev_x" }];

  it("are said to a request without a token when npm start named the file", async () => {
    const check = adminAuth({
      tokens,
      failureBurst: 5,
      failuresPerSec: 1,
      devTokenFile: "/p/.hookstream/dev.env",
    });
    await expect(check(request, reply)).rejects.toThrow(devTokenHint("/p/.hookstream/dev.env"));
  });

  it("are never said otherwise", async () => {
    const check = adminAuth({ tokens, failureBurst: 5, failuresPerSec: 1 });
    await expect(check(request, reply)).rejects.toThrow(/^missing Authorization: Bearer <ADMIN_TOKEN>$/);
  });
});
