/**
 * Measures the console: the initial page weight (every file the first load fetches,
 * gzipped as served) and the time from POSTing a signed webhook to the gateway to its
 * row being on screen in the browser (p50/p95 over 50 events, one at a time).
 * Run: `npx tsx --conditions=source tests/console/measureConsole.ts` (NATS and Postgres local).
 */
import { gzipSync } from "node:zlib";
import { ADMIN_TOKEN, startConsoleSystem } from "./consoleSystem";

const EVENTS = 50;

const system = await startConsoleSystem({
  natsUrl: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  label: "consolebench",
});
try {
  const page = await system.browser.newPage();
  const fetched: string[] = [];
  page.on("response", (r) => {
    if (r.url().startsWith(system.consoleUrl) && !r.url().includes("/admin/")) fetched.push(r.url());
  });
  await page.goto(system.consoleUrl);
  await page.getByLabel("Admin token").waitFor();
  let raw = 0;
  let gz = 0;
  for (const url of fetched) {
    const body = Buffer.from(await (await fetch(url)).arrayBuffer());
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  console.log(
    `page weight: ${fetched.length} files, ${(raw / 1024).toFixed(1)} KB raw, ${(gz / 1024).toFixed(1)} KB gzipped`,
  );

  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("status").filter({ hasText: "live" }).waitFor();
  const ms: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const t0 = performance.now();
    const id = await system.send("batch.completed", { data: { id: `batch_bench_${i}` } });
    await page.getByRole("link", { name: id }).waitFor({ timeout: 30_000 });
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]?.toFixed(0);
  console.log(
    `webhook → row on screen over ${EVENTS} events: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms`,
  );
} finally {
  await system.stop();
}
