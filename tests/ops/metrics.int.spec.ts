/**
 * Every service run as its own process (as production runs it) on free ports, a
 * few signed webhooks through the gateway (and their notifications to a receiver
 * behind NOTIFY_URLS) so that the series exist, then: each /metrics passes
 * `promtool check metrics`, names only `hookstream_*` metrics, and every metric the
 * Grafana dashboard and the delivery service's KEDA trigger query is exported by some service.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CONSUMING_SERVICES,
  HANDLER_NAMES,
  handlerForType,
  handlerServiceName,
  KNOWN_EVENT_TYPES,
  SERVICE_NAMES,
  SERVICES,
  type ServiceName,
  UNHANDLED_EVENT_TYPE,
} from "@hookstream/contracts";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  freePort,
  NotificationReceiver,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  type TestDatabase,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { dashboardMetricNames, exportedMetrics, isExported } from "./promql";
import { promtool } from "./promtool";

/** every service of the catalog, and of each that consumes, its first durable */
type Service = ServiceName;
const CONSUMING = CONSUMING_SERVICES.map((s) => [s, SERVICES[s].durables[0] ?? ""] as const);
/** one event of a type each handler takes (the first OpenAI sends in its domain), and one no handler takes */
const HANDLED = HANDLER_NAMES.map((h) => {
  const type = KNOWN_EVENT_TYPES.find((t) => handlerForType(t) === h);
  if (!type)
    throw new Error(`no known event type for the ${h} handler (packages/contracts/src/eventTypes.ts)`);
  return { handler: h, type };
});

const DASHBOARD = join(
  import.meta.dirname,
  "..",
  "..",
  "deploy",
  "observability",
  "grafana",
  "dashboards",
  "hookstream.json",
);

const KEDA = join(import.meta.dirname, "..", "..", "deploy", "k8s", "base", "keda.yaml");

const topology = testTopology("ops");
const natsUrl = inject("natsUrl");
let db: TestDatabase;
let receiver: NotificationReceiver;
const processes = new Map<Service, ServiceProcess>();
const scraped = new Map<Service, string>();

const url = (s: Service, path: string) => `http://127.0.0.1:${processes.get(s)?.opts.port}${path}`;
const scrape = async (s: Service) => (await fetch(url(s, "/metrics"))).text();
/** the sum of a metric's samples whose labels match `labels` (a regex fragment) */
function sum(text: string, metric: string, labels = ""): number {
  const re = new RegExp(`^${metric}\\{[^}]*${labels}[^}]*\\} ([0-9.e+-]+)$`, "gm");
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}

async function post(body: string, secret = TEST_SECRET): Promise<number> {
  const signed = signWebhook(secret, body);
  const res = await fetch(url("gateway", "/webhooks/openai"), {
    method: "POST",
    headers: signed.headers,
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  db = await createTestDatabase(inject("databaseUrl"), "ops");
  receiver = await NotificationReceiver.start();
  const env = {
    NATS_URL: natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
    HANDLER_ACK_WAIT_MS: "5000",
    // one destination (notify-1), so that the delivery service's series exist
    NOTIFY_URLS: receiver.url("/notify"),
  };
  // the audit first: it creates the database schema the others may wait on
  for (const group of [["audit"], SERVICE_NAMES.filter((s) => s !== "audit")] as Service[][]) {
    await Promise.all(
      group.map(async (service) => {
        const port = await freePort();
        const p = new ServiceProcess({
          service,
          port,
          env: { ...env, [SERVICES[service].portVar]: String(port) },
        });
        processes.set(service, p);
        await p.ready(90_000);
      }),
    );
  }

  const statuses = [];
  for (const { handler, type } of HANDLED)
    statuses.push(await post(eventBody(type, { data: { id: `${handler}-ops-1` } })));
  statuses.push(await post(eventBody(UNHANDLED_EVENT_TYPE)));
  statuses.push(
    await post(eventBody("batch.completed"), `whsec_${Buffer.from("not-the-secret").toString("base64")}`),
  );
  expect(statuses).toEqual([...HANDLED.map(() => 200), 200, 401]);

  // wait until the work has gone through every consumer, so that histograms have series
  await eventually(
    async () => {
      const handled = await Promise.all(
        HANDLED.map(async ({ handler }) =>
          sum(await scrape(handlerServiceName(handler)), "hookstream_handler_processed_total"),
        ),
      );
      return (
        sum(await scrape("audit"), "hookstream_audit_rows_inserted_total") >= HANDLED.length + 1 &&
        handled.every((n) => n >= 1) &&
        // the fine-tuning handler's job snapshot, folded by the projection
        sum(await scrape("fine-tune"), "hookstream_projection_applied_total") >= 1 &&
        // every handler's notification, sent on by the delivery service
        sum(await scrape("delivery"), "hookstream_delivery_attempts_total", 'outcome="delivered"') >=
          HANDLED.length
      );
    },
    { timeoutMs: 60_000, intervalMs: 250, message: "every consumer to handle its event" },
  );
  for (const s of SERVICE_NAMES) scraped.set(s, await scrape(s));
}, 180_000);

afterAll(async () => {
  await Promise.all(
    [...processes.values()].map(async (p) => {
      p.kill("SIGKILL");
      await p.exit;
    }),
  );
  const nc = await connect({ servers: natsUrl.split(",") });
  await deleteStreams(await jetstreamManager(nc), topology);
  await nc.close();
  await db?.drop();
  await receiver?.close();
});

describe("every service's /metrics", () => {
  it.each(SERVICE_NAMES)("passes promtool check metrics: %s", (service) => {
    const text = scraped.get(service) ?? "";
    expect(text).toContain("# TYPE");
    const r = promtool(["check", "metrics"], text);
    expect(r.output.trim(), `promtool on ${service}`).toBe("");
    expect(r.status).toBe(0);
  });

  it.each(SERVICE_NAMES)("names only hookstream_ metrics: %s", (service) => {
    const names = [...exportedMetrics(scraped.get(service) ?? "").keys()];
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !n.startsWith("hookstream_"))).toEqual([]);
  });

  it.each(CONSUMING)(
    "exports consumer pending and ack-pending from consumer info: %s (%s)",
    (service, first) => {
      const text = scraped.get(service) ?? "";
      const durable = `durable="${first}"`;
      expect(text).toMatch(new RegExp(`^hookstream_consumer_pending\\{[^}]*${durable}[^}]*\\} \\d+`, "m"));
      expect(text).toMatch(
        new RegExp(`^hookstream_consumer_ack_pending\\{[^}]*${durable}[^}]*\\} \\d+`, "m"),
      );
    },
  );

  it("counts gateway answers by status code and reason", () => {
    const text = scraped.get("gateway") ?? "";
    expect(sum(text, "hookstream_gateway_responses_total", 'code="200"')).toBe(HANDLED.length + 1);
    expect(sum(text, "hookstream_gateway_responses_total", 'code="401",reason="no_matching_signature"')).toBe(
      1,
    );
  });

  it("shows the dead-letter count of every handler, 0 when there is none", () => {
    const text = scraped.get("audit") ?? "";
    for (const handler of HANDLER_NAMES) {
      expect(text).toMatch(
        new RegExp(`^hookstream_dlq_messages\\{[^}]*handler="${handler}"[^}]*\\} 0$`, "m"),
      );
    }
  });

  it("shows each destination's attempts, latency, state and pending count", () => {
    const text = scraped.get("delivery") ?? "";
    const d = 'destination="notify-1"';
    expect(sum(text, "hookstream_delivery_attempts_total", `${d}[^}]*outcome="delivered"`)).toBe(
      HANDLED.length,
    );
    expect(sum(text, "hookstream_delivery_seconds_count", d)).toBe(HANDLED.length);
    expect(text).toMatch(
      /^hookstream_destination_state\{[^}]*destination="notify-1"[^}]*state="active"[^}]*\} 1$/m,
    );
    expect(text).toMatch(/^hookstream_destination_pending\{[^}]*destination="notify-1"[^}]*\} \d+$/m);
  });
});

describe("the delivery service's KEDA trigger", () => {
  it("queries only metrics that the services export", () => {
    const exported = new Map<string, string>();
    for (const text of scraped.values()) for (const [n, t] of exportedMetrics(text)) exported.set(n, t);
    const queries = parseAllDocuments(readFileSync(KEDA, "utf8"))
      .map((d) => d.toJSON() as { spec: { triggers: Array<{ type: string; metadata: { query?: string } }> } })
      .flatMap((o) => o.spec.triggers)
      .filter((t) => t.type === "prometheus")
      .map((t) => t.metadata.query ?? "");
    expect(queries.length).toBeGreaterThan(0);
    const names = queries.flatMap(dashboardMetricNames);
    expect(names).toContain("hookstream_destination_pending");
    expect(names.filter((n) => !isExported(n, exported))).toEqual([]);
  });
});

describe("the Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
  };

  it("queries only metrics that the services export", () => {
    const exported = new Map<string, string>();
    for (const text of scraped.values()) for (const [n, t] of exportedMetrics(text)) exported.set(n, t);
    const missing: string[] = [];
    const panels = dashboard.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of panels) {
      const names = (panel.targets ?? []).flatMap((t) => dashboardMetricNames(t.expr));
      expect(names.length, `panel "${panel.title}" queries no metric`).toBeGreaterThan(0);
      for (const name of names) if (!isExported(name, exported)) missing.push(`${panel.title}: ${name}`);
    }
    expect(missing).toEqual([]);
  });
});
