/**
 * `npm run attacks`: what an attacker and a careless operator try, against a running
 * system (the one `npm start` runs: its URLs, admin token and secrets come from
 * `.hookstream/dev.env`, or from the shell), each with the answer it must get. Prints
 * the requests and the answers as a transcript (`--out FILE` writes it as Markdown)
 * and exits 1 when an answer is not the one expected.
 *
 * - one sender's id sent again by another sender: both accepted, both audited;
 * - a 6,000-character id: 400;
 * - wildcards and dots as erasure ids: 400;
 * - bad cursors, dates and limits: 400, never SQL or a stack in the answer;
 * - the console's browser security headers;
 * - a stalled request body: the connection closed within 60 s;
 * - a production gateway with no webhook secret, and an admin service with a bad
 *   ADMIN_TOKENS: each exits non-zero, naming the variable and never the token.
 *
 * The first needs a Standard Webhooks sender in WEBHOOK_PROVIDERS of the running
 * gateway (docs/webhooks.md); without one it is reported as not run.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { withDevEnv } from "@hookstream/cli";
import { DEV_WEBHOOK_SECRET } from "@hookstream/config";
import { eventBody, signWebhook } from "@hookstream/contracts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { out: { type: "string" } } });

// the shell's variables first, then .hookstream/dev.env, as the CLI reads them
const merged = withDevEnv(process.env, process.cwd());
const env = (name: string): string | undefined => merged[name]?.trim() || undefined;
const required = (name: string): string => {
  const v = env(name);
  if (!v) {
    console.error(
      `attacks: ${name} is not set and not in .hookstream/dev.env: start the system with npm start first`,
    );
    process.exit(2);
  }
  return v;
};
const gateway = new URL(required("GATEWAY_URL")).origin;
const admin = required("HOOKSTREAM_ADMIN_URL").replace(/\/$/, "");
const fineTune = required("HOOKSTREAM_FINE_TUNE_URL").replace(/\/$/, "");
const token = required("ADMIN_TOKEN");
const openaiSecret = env("OPENAI_WEBHOOK_SECRET") || DEV_WEBHOOK_SECRET;
const standardSender = (() => {
  try {
    const list = JSON.parse(env("WEBHOOK_PROVIDERS") ?? "[]") as Array<{
      name: string;
      secrets: string[];
      envelope?: string;
    }>;
    return list.find((p) => p.envelope === "standard" && p.secrets.length > 0);
  } catch {
    return undefined;
  }
})();

interface Check {
  item: string;
  what: string;
  request: string;
  expected: string;
  answer: string;
  ok: boolean;
}
const checks: Check[] = [];
const tag = randomBytes(4).toString("hex");
/** what no answer may hold: SQL text, a stack frame, the admin token */
const leaks = (text: string): string[] =>
  [
    /\bselect\b[\s\S]*\bfrom\b/i.test(text) ? "SQL" : "",
    /\bat [\w.<>]+ \(/.test(text) || /\.(ts|js):\d+/.test(text) ? "a stack" : "",
    text.includes(token) ? "the admin token" : "",
  ].filter(Boolean);
const short = (text: string, max = 220) => (text.length > max ? `${text.slice(0, max)}…` : text);

async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
const adminHeaders = { authorization: `Bearer ${token}`, "content-type": "application/json" };

/** One request whose answer must have `status` and leak nothing. */
async function expectStatus(
  item: string,
  what: string,
  method: "GET" | "POST",
  url: string,
  status: number,
  body?: unknown,
  headers: Record<string, string> = adminHeaders,
): Promise<void> {
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const res = await call(url, init);
  const leaked = leaks(res.body);
  checks.push({
    item,
    what,
    request: `${method} ${url.replace(/^https?:\/\/[^/]+/, "")}${body !== undefined && typeof body !== "string" ? ` ${JSON.stringify(body)}` : ""}`,
    expected: `${status}${leaked.length ? "" : ", nothing leaked"}`,
    answer: `${res.status} ${short(res.body)}${leaked.length ? ` — carries ${leaked.join(", ")}` : ""}`,
    ok: res.status === status && leaked.length === 0,
  });
}

async function postWebhook(path: string, secret: string, body: string, webhookId?: string) {
  const signed = signWebhook(secret, body, webhookId ? { webhookId } : {});
  return call(`${gateway}${path}`, { method: "POST", headers: signed.headers, body });
}

/** Item 1: one id, two senders; both accepted, both audited (an event is its provider and its id). */
async function sameIdTwoSenders(): Promise<void> {
  if (!standardSender) {
    checks.push({
      item: "1",
      what: "one id from two senders",
      request: "(not run)",
      expected: "a Standard Webhooks sender in WEBHOOK_PROVIDERS",
      answer: "none configured",
      ok: false,
    });
    return;
  }
  const id = `msg_${tag}`;
  const acmeBody = JSON.stringify({
    type: "invoice.paid",
    timestamp: new Date().toISOString(),
    data: { id: "in_1" },
  });
  const a = await postWebhook(
    `/webhooks/${standardSender.name}`,
    standardSender.secrets[0] as string,
    acmeBody,
    id,
  );
  const b = await postWebhook(
    "/webhooks/openai",
    openaiSecret,
    eventBody("batch.completed", { id, data: { id: `batch_${tag}` } }),
  );
  // both rows, each under its own provider
  const audited: string[] = [];
  const deadline = Date.now() + 30_000;
  for (const provider of [standardSender.name, "openai"]) {
    for (;;) {
      const r = await call(`${admin}/admin/events/${id}?provider=${provider}`, { headers: adminHeaders });
      if (r.status === 200) {
        audited.push(provider);
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  checks.push({
    item: "1",
    what: `webhook-id ${id} from ${standardSender.name}, then an OpenAI event whose id is ${id}`,
    request: `POST /webhooks/${standardSender.name} (webhook-id ${id}); POST /webhooks/openai (id ${id})`,
    expected: "200 accepted twice; both in webhook_events",
    answer: `${a.status} ${short(a.body, 80)}; ${b.status} ${short(b.body, 80)}; audited: ${audited.join(", ") || "none"}`,
    ok:
      a.status === 200 &&
      b.status === 200 &&
      a.body.includes('"accepted"') &&
      b.body.includes('"accepted"') &&
      audited.length === 2,
  });
}

/** Item 2: a 6,000-character id, as webhook-id and as the event id. */
async function overlongIds(): Promise<void> {
  const long = "x".repeat(6_000);
  const body = eventBody("batch.completed", { data: { id: `batch_${tag}` } });
  const asWebhookId = standardSender
    ? await postWebhook(
        `/webhooks/${standardSender.name}`,
        standardSender.secrets[0] as string,
        JSON.stringify({ type: "invoice.paid", timestamp: new Date().toISOString(), data: {} }),
        long,
      )
    : await postWebhook("/webhooks/openai", openaiSecret, body, long);
  checks.push({
    item: "2",
    what: "a 6,000-character webhook-id",
    request: `POST /webhooks/${standardSender?.name ?? "openai"} (webhook-id of 6,000 characters)`,
    expected: "400",
    answer: `${asWebhookId.status} ${short(asWebhookId.body)}`,
    ok: asWebhookId.status === 400,
  });
  const asEventId = await postWebhook(
    "/webhooks/openai",
    openaiSecret,
    eventBody("batch.completed", { id: long }),
  );
  checks.push({
    item: "2",
    what: "a 6,000-character event id",
    request: "POST /webhooks/openai (id of 6,000 characters)",
    expected: "400",
    answer: `${asEventId.status} ${short(asEventId.body)}`,
    ok: asEventId.status === 400,
  });
}

/** Item 6: headers with Content-Length 100000, 5 bytes, then nothing: when does the gateway close? */
function stalledBody(): Promise<void> {
  const { hostname, port } = new URL(gateway);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        `POST /webhooks/openai HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"id"`,
      );
    });
    let answer = "";
    socket.on("data", (d) => {
      answer += String(d);
    });
    const give = setTimeout(() => socket.destroy(new Error("still open after 70 s")), 70_000);
    socket.on("close", () => {
      clearTimeout(give);
      const s = (Date.now() - started) / 1000;
      const status = /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1];
      checks.push({
        item: "6",
        what: "a stalled body: Content-Length 100000, 5 bytes sent, then nothing",
        request: "POST /webhooks/openai (raw socket)",
        expected: "closed within 60 s",
        answer: `closed after ${s.toFixed(1)} s${status ? ` with ${status}` : ""}`,
        ok: s <= 60,
      });
      resolve();
    });
    socket.on("error", () => {});
  });
}

/** Item 7: a service started with unsafe settings, compiled as production runs it. */
function refusedStart(
  item: string,
  what: string,
  service: string,
  vars: Record<string, string>,
  names: string,
  secret?: string,
): void {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(OPENAI_|ADMIN_TOKEN|WEBHOOK_|NODE_OPTIONS|HOOKSTREAM_)/.test(k),
    ),
  );
  const r = spawnSync(process.execPath, [join(ROOT, "services", service, "dist", "main.js")], {
    env: { ...clean, NODE_ENV: "production", NATS_URL: "nats://127.0.0.1:1", LOG_FORMAT: "json", ...vars },
    encoding: "utf8",
    timeout: 30_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  const shown = Object.entries(vars)
    .map(([k, v]) => `${k}=${v === "" ? "''" : secret ? v.replaceAll(secret, "<token>") : v}`)
    .join(" ");
  const line = out.split("\n").find((l) => l.includes(names)) ?? out.split("\n")[0] ?? "";
  const leaked = secret !== undefined && out.includes(secret);
  checks.push({
    item,
    what,
    request: `NODE_ENV=production ${shown} node services/${service}/dist/main.js`,
    expected: `exits non-zero naming ${names}${secret ? ", without the token" : ""}`,
    answer: `exit ${r.status}: ${short(line.trim(), 260)}${leaked ? " — the token is in its output" : ""}`,
    ok: r.status !== null && r.status !== 0 && out.includes(names) && !leaked,
  });
}

const stalled = stalledBody();
await sameIdTwoSenders();
await overlongIds();

// Item 3: an id that would become a subject wildcard, or more than one token
for (const resourceId of [">", "*", "a.b", " ", "ftjob-1 >"]) {
  await expectStatus(
    "3",
    `erase resource ${JSON.stringify(resourceId)}`,
    "POST",
    `${admin}/admin/erase`,
    400,
    {
      resourceType: "fine_tuning_job",
      resourceId,
    },
  );
}
for (const eventId of [">", "evt.*"]) {
  await expectStatus("3", `erase event ${JSON.stringify(eventId)}`, "POST", `${admin}/admin/erase`, 400, {
    eventId,
  });
}

// Item 4: bad queries
const bad: Array<[string, string]> = [
  ["a cursor beyond bigint", `${admin}/admin/events/search?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OQ`],
  ["a cursor that is not ours", `${admin}/admin/events/search?cursor=not-a-cursor`],
  ["a job cursor holding 1e308", `${fineTune}/fine-tune-jobs?cursor=WzFlMzA4LCJhIl0`],
  ["the same through the console's proxy", `${admin}/api/jobs?cursor=WzFlMzA4LCJhIl0`],
  ["a DLQ window of 100000001 days", `${admin}/admin/dlq?since=100000001d`],
  ["a limit of 99999999999", `${admin}/admin/events?limit=99999999999`],
  ["a date that is not one", `${admin}/admin/events/search?since=2026-13-45`],
  ["a parameter the route does not take", `${admin}/admin/events/search?from=2026-01-01`],
];
for (const [what, url] of bad) await expectStatus("4", what, "GET", url, 400);

// Item 5: the console's headers
{
  const res = await call(`${admin}/`);
  const csp = res.headers.get("content-security-policy") ?? "";
  const nosniff = res.headers.get("x-content-type-options") ?? "";
  const frame = res.headers.get("x-frame-options") ?? "";
  const strictScripts = /script-src [^;]*'self'/.test(csp) && !/script-src [^;]*'unsafe-inline'/.test(csp);
  checks.push({
    item: "5",
    what: "the console's browser security headers",
    request: "GET /",
    expected: "a CSP without inline scripts, nosniff, frame-ancestors or X-Frame-Options",
    answer: `${res.status}; content-security-policy: ${csp || "(none)"}; x-content-type-options: ${nosniff || "(none)"}; x-frame-options: ${frame || "(none)"}`,
    ok:
      res.status === 200 &&
      strictScripts &&
      nosniff === "nosniff" &&
      (/frame-ancestors/.test(csp) || frame !== ""),
  });
}

// Item 7: unsafe configuration refuses to start
refusedStart(
  "7",
  "a production gateway with no webhook secret",
  "gateway",
  { OPENAI_WEBHOOK_SECRET: "" },
  "OPENAI_WEBHOOK_SECRET",
);
refusedStart(
  "7",
  "a production gateway with a secret that decodes to nothing",
  "gateway",
  { OPENAI_WEBHOOK_SECRET: "whsec_" },
  "OPENAI_WEBHOOK_SECRET",
);
const adminToken = `tok_${randomBytes(12).toString("hex")}`;
refusedStart(
  "7",
  "an admin service with a malformed ADMIN_TOKENS",
  "admin",
  { ADMIN_TOKENS: `ops=${adminToken},${adminToken}` },
  "ADMIN_TOKENS",
  adminToken,
);

await stalled;

checks.sort((a, b) => a.item.localeCompare(b.item));
const failed = checks.filter((c) => !c.ok);
const rows = checks.map(
  (c) =>
    `| ${c.item} | ${c.what.replaceAll("|", "\\|")} | \`${c.request.replaceAll("|", "\\|")}\` | ${c.expected} | ${c.answer.replaceAll("|", "\\|").replaceAll("\n", " ")} | ${c.ok ? "yes" : "**no**"} |`,
);
const doc = [
  "# Tried as an attacker would",
  "",
  `\`npm run attacks\` against a system started with \`npm start\` (gateway ${gateway}, admin ${admin}), on ${new Date().toISOString()}.`,
  "Each row is a request this run sent and the answer it got. Items are those of",
  "[security](security.md); the script is `scripts/attacks.ts`.",
  "",
  "| item | what | request | expected | answer | as expected |",
  "| --- | --- | --- | --- | --- | --- |",
  ...rows,
  "",
  failed.length === 0
    ? `All ${checks.length} answers as expected.`
    : `${failed.length} of ${checks.length} answers NOT as expected.`,
  "",
].join("\n");
if (values.out) writeFileSync(values.out, doc);
console.log(doc);
process.exit(failed.length === 0 ? 0 : 1);
