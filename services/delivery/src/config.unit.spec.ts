import { ConfigError, parseConfig } from "@hookstream/config";
import { serviceConfigSchema } from "@hookstream/runtime";
import { describe, expect, it } from "vitest";
import { type DeliveryConfig, deliveryEnv, resolveDestinations } from "./config";

const schema = serviceConfigSchema("delivery", deliveryEnv);
const parse = (env: Record<string, string>) => parseConfig(schema, env) as DeliveryConfig;
const problems = (env: Record<string, string>): string[] => {
  try {
    parse(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe("DESTINATIONS", () => {
  it("takes every field of the contract and fills the defaults", () => {
    const config = parse({
      DESTINATIONS: JSON.stringify([
        {
          name: "ml-ops",
          url: "https://hooks.example.com/openai",
          source: "notifications",
          filter: {
            types: ["batch.*"],
            providers: ["openai"],
            handlers: ["batch"],
            match: { "/status": "failed" },
          },
          secret: `whsec_${Buffer.from("x".repeat(32)).toString("base64")}`,
          headers: { "x-team": "ml" },
          ordering: "resource",
          retry: { attempts: 12, backoffMs: [1000, 5000], timeoutMs: 10000, maxAgeMs: 259200000 },
          ratePerSec: 50,
        },
        { name: "raw", url: "http://127.0.0.1:9/x", source: "events" },
      ]),
    });
    const [ml, raw] = resolveDestinations(config);
    expect(ml).toMatchObject({ name: "ml-ops", ordering: "resource", ratePerSec: 50, body: "as-is" });
    expect(raw).toMatchObject({ source: "events", ordering: "none", filter: {}, headers: {} });
    expect(raw?.retry).toEqual({
      attempts: 12,
      backoffMs: [1000, 5000, 30000, 300000],
      timeoutMs: 10000,
      maxAgeMs: 259200000,
    });
  });

  it("stops at start naming every problem of a bad list, each by entry, name and field", () => {
    const list = [
      { name: "Bad Name", url: "ftp://x", ordering: "sometimes" },
      {
        name: "raw",
        url: "https://x.example",
        source: "events",
        filter: { handlers: ["batch"], match: { status: 1 } },
      },
      {
        name: "h",
        url: "https://x.example",
        headers: { "webhook-signature": "v1,x" },
        retry: { attempts: 0 },
        extra: 1,
      },
      { name: "raw", url: "https://y.example" },
    ];
    const found = problems({ DESTINATIONS: JSON.stringify(list) });
    const expected = [
      /\[0\] name: lowercase/,
      /\[0\] url: an http\(s\) URL/,
      /\[0\] ordering: Invalid option/,
      /\[1\] "raw" filter.match.status: Invalid key/,
      /\[2\] "h" retry.attempts/,
      /\[2\] "h".*extra/,
    ];
    for (const re of expected)
      expect(
        found.some((p) => re.test(p)),
        `${re} in\n${found.join("\n")}`,
      ).toBe(true);
    expect(found.every((p) => p.startsWith("DESTINATIONS: "))).toBe(true);
  });

  it("names a name given twice and handlers on a raw-events destination", () => {
    const found = problems({
      DESTINATIONS: JSON.stringify([
        { name: "raw", url: "https://x.example", source: "events", filter: { handlers: ["batch"] } },
        { name: "raw", url: "https://y.example" },
      ]),
    });
    expect(found).toEqual([
      'DESTINATIONS: [0] "raw" filter.handlers: only a "notifications" destination has handlers; filter raw events by types or providers',
      'DESTINATIONS: [1] "raw" name: "raw" is also destination [0]',
    ]);
  });

  it("says so when the list is not JSON or the file cannot be read", () => {
    expect(problems({ DESTINATIONS: "[{" })[0]).toMatch(/^DESTINATIONS: not JSON/);
    expect(problems({ DESTINATIONS: "@/nonexistent/destinations.json" })[0]).toMatch(/cannot read/);
  });
});

describe("NOTIFY_URLS and DEPLOY_HOOK_URL", () => {
  it("are shorthands: each URL a notifications destination with no filter, the deploy hook its own", () => {
    const secret = `whsec_${Buffer.from("y".repeat(32)).toString("base64")}`;
    const ds = resolveDestinations(
      parse({
        NOTIFY_URLS: "https://a.example/n, https://b.example/n",
        NOTIFY_SIGNING_SECRET: secret,
        DEPLOY_HOOK_URL: "https://deploy.example/hook",
      }),
    );
    expect(ds.map((d) => [d.name, d.source, d.ordering, d.body, d.secret])).toEqual([
      ["notify-1", "notifications", "none", "as-is", secret],
      ["notify-2", "notifications", "none", "as-is", secret],
      ["deploy", "notifications", "none", "deploy", secret],
    ]);
    expect(ds[0]?.filter).toEqual({});
    expect(ds[2]?.filter).toEqual({ handlers: ["fine-tuning"], types: ["fine_tuning.job.succeeded"] });
  });

  it("refuses a DESTINATIONS name the shorthands use", () => {
    expect(() =>
      resolveDestinations(
        parse({
          NOTIFY_URLS: "https://a.example/n",
          DESTINATIONS: '[{"name":"notify-1","url":"https://x.example"}]',
        }),
      ),
    ).toThrow(/"notify-1" is also the name/);
  });
});
