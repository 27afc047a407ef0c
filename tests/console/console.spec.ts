/**
 * The console in a real browser (Debian's Chromium through playwright-core) against
 * the whole system: sign in, see a signed webhook arrive live, find it, follow its
 * handler timeline, redrive a dead letter, replay with the inbox bypassed, read a
 * fine-tuning job and its history, see each destination's state and pause, resume and
 * test one, read an event's deliveries per destination, and be refused with a wrong token.
 * `UPDATE_SCREENSHOTS=1` also rewrites docs/console-events.png, docs/console-event.png
 * and docs/console-destinations.png.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DestinationList, type DestinationStatus } from "@hookstream/contracts";
import { eventually } from "@hookstream/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ADMIN_TOKEN, type ConsoleSystem, ROOT, startConsoleSystem } from "./consoleSystem";

let system: ConsoleSystem;
let page: Page;
const SHOTS = join(ROOT, ".tmp", "console");
const DOCS = process.env.UPDATE_SCREENSHOTS === "1";

/** waits (polling the DOM) for a visible element; fails with what the page shows */
async function visible(locator: ReturnType<Page["locator"]>, timeout = 20_000) {
  await locator.first().waitFor({ state: "visible", timeout });
}

async function shoot(name: string, docs?: string) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 1280 ? 800 : 844 });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
    // nothing may stick out sideways at either width (a phone would scroll the whole page)
    const wider = await page.evaluate(`[...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
        && !e.closest(".table-wrap, .json-scroll"))
      .map((e) => e.tagName + "." + e.className).slice(0, 5)`);
    expect(wider, `${name} at ${width} px`).toEqual([]);
    if (docs && width === 1280) await page.screenshot({ path: join(ROOT, "docs", docs), fullPage: false });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  system = await startConsoleSystem({
    natsUrl: inject("natsUrl"),
    databaseUrl: inject("databaseUrl"),
    label: "console",
    // two deliveries, short delays: a failing notification reaches the DLQ in well under a second
    env: {
      HANDLER_MAX_DELIVER: "2",
      HANDLER_BASE_DELAY_MS: "100",
      HANDLER_MAX_DELAY_MS: "200",
    },
    // beside NOTIFY_URLS (notify-1): an ordered destination, one of raw events, one whose
    // receiver is down (its breaker opens; it never runs out of attempts here), and one that
    // failed once and retries only in 10 minutes (failing, not open)
    destinations: (url) => [
      { name: "ml-ops", url: url("/ml-ops"), filter: { types: ["batch.*"] }, ordering: "resource" },
      { name: "archive", url: url("/archive"), source: "events", filter: { providers: ["openai"] } },
      {
        name: "down",
        url: url("/down"),
        filter: { types: ["batch.*"] },
        retry: { attempts: 10_000, backoffMs: [200] },
      },
      {
        name: "flaky",
        url: url("/flaky"),
        filter: { types: ["batch.cancelled"] },
        retry: { attempts: 3, backoffMs: [600_000] },
      },
    ],
  });
  system.receiver.answerWith((path) => (path === "/down" || path === "/flaky" ? { status: 503 } : undefined));
  page = await system.browser.newPage();
  // eight processes and a browser start here: on a shared 2-core machine that can take minutes
}, 300_000);

afterAll(async () => {
  await system?.stop();
});

describe("the console", () => {
  it("refuses a wrong token and says so", async () => {
    await page.goto(system.consoleUrl);
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await visible(page.getByRole("alert").filter({ hasText: "Wrong token" }));
    expect(await page.getByRole("heading", { name: "Events" }).count()).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('hookstream.adminToken')")).toBeNull();
  });

  it("signs in with ADMIN_TOKEN and keeps it in the session only", async () => {
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await visible(page.getByRole("heading", { name: "Events" }));
    expect(await page.evaluate("sessionStorage.getItem('hookstream.adminToken')")).toBe(ADMIN_TOKEN);
    expect(await page.evaluate("localStorage.length")).toBe(0);
  });

  it("sends browser security headers on every page, and an injected inline script does not run", async () => {
    for (const path of ["/", "/events", "/dlq", "/admin/stats"]) {
      const res = await fetch(`${system.consoleUrl}${path}`);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain("unsafe-inline");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
    }
    // what an XSS would do once it found a way into the DOM: add a script element
    const injected = (await page.evaluate(`new Promise((resolve) => {
      document.addEventListener("securitypolicyviolation",
        (e) => setTimeout(() => resolve({ ran: window.__injected === 1, blocked: e.violatedDirective }), 50),
        { once: true });
      const s = document.createElement("script");
      s.textContent = "window.__injected = 1";
      document.body.append(s);
      setTimeout(() => resolve({ ran: window.__injected === 1, blocked: null }), 3000);
    })`)) as { ran: boolean; blocked: string | null };
    expect(injected.ran).toBe(false);
    expect(injected.blocked).toMatch(/^script-src/);
    // the page itself still works under the policy
    await visible(page.getByRole("heading", { name: "Events" }));
  });

  it("shows a signed webhook as it arrives, without a reload", async () => {
    await visible(page.getByRole("status").filter({ hasText: "live" }));
    const before = page.url();
    const id = await system.send("batch.completed", { data: { id: "batch_console_live" } });
    await visible(page.getByRole("row").filter({ hasText: id }));
    expect(page.url()).toBe(before);
    await visible(page.getByRole("row").filter({ hasText: id }).getByText("processed"));
  });

  it("finds the event by its id and by its resource id, with the filter in the URL", async () => {
    const id = await system.send("batch.completed", { data: { id: "batch_console_search" } });
    for (const term of [id, "batch_console_search"]) {
      await page.getByRole("searchbox", { name: "Search" }).fill(term);
      await page.getByRole("button", { name: "Apply" }).click();
      await page.waitForURL((u) => u.searchParams.get("q") === term);
      await visible(page.getByRole("row").filter({ hasText: id }));
      expect(await page.locator("tbody tr").count()).toBe(1);
    }
    // a shared link opens the same search
    await page.reload();
    await visible(page.getByRole("row").filter({ hasText: id }));
    expect(await page.getByRole("searchbox", { name: "Search" }).inputValue()).toBe("batch_console_search");
  });

  it("opens the event and shows its body, headers and a handler timeline that reaches processed", async () => {
    const id = await system.send("batch.completed", { data: { id: "batch_console_detail" } });
    await page.goto(`${system.consoleUrl}/events?q=${id}`);
    await page.getByRole("link", { name: id }).click();
    await visible(page.getByRole("heading", { name: id }));
    const timeline = page.getByRole("list", { name: "Handler attempts" });
    await visible(
      timeline.getByRole("listitem").filter({ hasText: "batch" }).filter({ hasText: "processed" }),
    );
    await visible(page.getByRole("region", { name: "Raw body" }).getByText("batch_console_detail"));
    await visible(page.getByRole("rowheader", { name: "Webhook-Signature" }));
    expect(await page.getByText(/webhooks\.openai\.batch\.completed/).count()).toBeGreaterThan(0);
    await shoot("event", DOCS ? "console-event.png" : undefined);
  });

  it("redrives a dead letter from the Dead letters page, and the event ends processed", async () => {
    // the OpenAI API refuses the batch (a 4xx is permanent): the batch handler dead-letters the event
    system.fake.failNext(1, 404, "/v1/batches/batch_console_dead");
    const id = await system.send("batch.failed", { data: { id: "batch_console_dead" } });
    await page.goto(`${system.consoleUrl}/dlq`);
    const row = page.getByRole("row").filter({ hasText: id });
    await eventually(
      async () => {
        if ((await row.count()) > 0) return true;
        await page.reload();
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: `${id} in the dead-letter list` },
    );
    await shoot("dlq");
    await row.getByRole("button", { name: "Redrive" }).click();
    const dialog = page.getByRole("dialog");
    await visible(dialog.getByText("Redrive 1 dead letter?"));
    await dialog.getByRole("button", { name: "Redrive 1 dead letter" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Redrove 1 dead letter" }));
    await visible(page.getByText("No dead letters"));

    await page.goto(`${system.consoleUrl}/events/${id}`);
    const timeline = page.getByRole("list", { name: "Handler attempts" });
    await visible(timeline.getByRole("listitem").filter({ hasText: "dead" }));
    await visible(
      timeline.getByRole("listitem").filter({ hasText: "processed" }).filter({ hasText: "replay" }),
    );
    await visible(page.locator(".page-head").getByText("processed", { exact: true }));
  });

  it("replays an event with the inbox bypassed: the handler runs it again in full", async () => {
    const id = await system.send("batch.completed", { data: { id: "batch_console_replay" } });
    await eventually(() => system.receiver.on("/notify").some((n) => JSON.stringify(n.body).includes(id)), {
      message: "the first notification",
    });
    const notified = () =>
      system.receiver.on("/notify").filter((n) => JSON.stringify(n.body).includes(id)).length;
    expect(notified()).toBe(1);

    await page.goto(`${system.consoleUrl}/replay?event=${id}`);
    const bypass = page.getByRole("switch", { name: "Bypass inbox" });
    await visible(page.getByText("notifications and other side effects happen again"));
    await bypass.check();
    await shoot("replay");
    await page.getByRole("button", { name: "Replay" }).click();
    await visible(page.getByRole("status").filter({ hasText: "bypassing its inbox" }));
    await eventually(() => notified() === 2, { message: "the replay's notification" });

    await page.getByRole("link", { name: "Watch its timeline" }).click();
    const timeline = page.getByRole("list", { name: "Handler attempts" });
    await visible(
      timeline.getByRole("listitem").filter({ hasText: "replay" }).filter({ hasText: "processed" }),
    );
    expect(await timeline.getByText("already handled").count()).toBe(0);
  });

  it("lists fine-tuning jobs by status and opens one with its history", async () => {
    system.fake.fineTuningJob("ftjob-console", {
      status: "succeeded",
      fine_tuned_model: "ft:gpt-4o-mini:acme::console",
      trained_tokens: 1234,
    });
    const id = await system.send("fine_tuning.job.succeeded", { data: { id: "ftjob-console" } });
    await page.goto(`${system.consoleUrl}/jobs?status=succeeded`);
    await eventually(
      async () => {
        if ((await page.getByRole("link", { name: "ftjob-console" }).count()) > 0) return true;
        await page.reload();
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "the job in the list" },
    );
    await page.getByRole("link", { name: "ftjob-console" }).click();
    await visible(page.getByRole("heading", { name: "ftjob-console" }));
    await visible(page.getByText("ft:gpt-4o-mini:acme::console"));
    const history = page.getByRole("table", { name: "Job history" });
    await visible(history.getByRole("row").filter({ hasText: id }).filter({ hasText: "succeeded" }));
    await shoot("job");
  });

  it("draws the stats page and the other admin instance serves the same console", async () => {
    await page.goto(`${system.consoleUrl}/stats`);
    await visible(page.getByRole("img", { name: /Events per minute over the last hour/ }));
    await shoot("stats");
    await page.goto(`${system.consoleUrl}/events`);
    await visible(page.getByRole("row").filter({ hasText: "fine_tuning.job.succeeded" }));
    await shoot("events", DOCS ? "console-events.png" : undefined);
    const res = await fetch(`${system.otherAdminUrl}/events/some-shared-link`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="app">');
  });

  it("shows each destination's state, pending, success rate, p99 and last error; pauses, resumes and tests one", async () => {
    await system.send("batch.completed", { data: { id: "batch_console_dest" } });
    const flaky = await system.send("batch.cancelled", { data: { id: "batch_console_flaky" } });
    // the delivery service's own view, until every destination has had its attempts
    const states = async () => {
      const res = await fetch(`${system.deliveryUrl}/admin/destinations`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const list = DestinationList.parse(await res.json()).destinations;
      return new Map(list.map((d) => [d.name, d]));
    };
    const ready = (m: Map<string, DestinationStatus>) =>
      m.get("notify-1")?.success_rate === 1 &&
      m.get("ml-ops")?.success_rate === 1 &&
      m.get("archive")?.success_rate === 1 &&
      m.get("down")?.state === "open" &&
      m.get("flaky")?.state === "active" &&
      (m.get("flaky")?.failures ?? 0) >= 1;
    await eventually(async () => ready(await states()), {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: "every destination attempted (down open, flaky failing)",
    });

    await page.goto(`${system.consoleUrl}/destinations`);
    await visible(page.getByRole("heading", { name: "Destinations" }));
    const row = (name: string) =>
      page.getByRole("row").filter({ has: page.getByRole("rowheader", { name }) });
    const badge = (name: string, state: string) =>
      row(name).locator(".badge").getByText(state, { exact: true });
    await visible(badge("notify-1", "active"));
    await visible(badge("ml-ops", "active"));
    await visible(row("ml-ops").getByText("in order per resource"));
    await visible(badge("down", "open"));
    await visible(row("down").getByText(/breaker open after \d+ consecutive failures/));
    await visible(row("down").getByText(/answered 503/));
    await visible(badge("flaky", "failing"));
    await visible(row("flaky").getByText(/1 failed attempt in a row/));
    expect(await row("notify-1").getByText("100 %").count()).toBe(1);
    // an open destination can be resumed at once; an active one only paused
    expect(await row("down").getByRole("button", { name: "Resume" }).count()).toBe(1);
    expect(await row("notify-1").getByRole("button", { name: "Resume" }).count()).toBe(0);

    // pause: shared by every delivery instance, so the delivery service says paused too
    await row("archive").getByRole("button", { name: "Pause" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Paused archive" }));
    await visible(badge("archive", "paused"));
    await visible(row("archive").getByText("paused by operator: from the console"));
    expect((await states()).get("archive")?.state).toBe("paused");
    // while paused, a new raw event waits for it: pending, not sent
    const sentBefore = system.receiver.on("/archive").length;
    await system.send("batch.completed", { data: { id: "batch_console_wait" } });
    await eventually(async () => ((await states()).get("archive")?.pending ?? 0) >= 1, {
      message: "the raw event pending for the paused archive",
    });
    expect(system.receiver.on("/archive").length).toBe(sentBefore);
    await page.reload();
    await visible(badge("archive", "paused"));
    await shoot("destinations", DOCS ? "console-destinations.png" : undefined);

    await row("archive").getByRole("button", { name: "Resume" }).click();
    await visible(page.getByRole("status").filter({ hasText: "Resumed archive" }));
    await visible(badge("archive", "active"));
    await eventually(() => system.receiver.on("/archive").length > sentBefore, {
      message: "the waiting raw event delivered after the resume",
    });

    await row("notify-1").getByRole("button", { name: "Send test event" }).click();
    await visible(page.getByRole("status").filter({ hasText: /Test event to notify-1: delivered \(200\)/ }));
    expect(
      system.receiver
        .on("/notify")
        .some((n) => (n.body as { event_type?: string }).event_type === "hookstream.test"),
    ).toBe(true);
    await row("down").getByRole("button", { name: "Send test event" }).click();
    await visible(page.getByRole("status").filter({ hasText: /Test event to down failed: .*answered 503/ }));

    // the event's deliveries, per destination: delivered to some, one failed attempt at flaky
    await page.goto(`${system.consoleUrl}/events/${flaky}`);
    await visible(page.getByRole("heading", { name: flaky }));
    const to = (name: string) => page.getByRole("table", { name: `Deliveries to ${name}` });
    await visible(to("ml-ops").getByRole("row").filter({ hasText: "delivered" }));
    await visible(to("notify-1").getByRole("row").filter({ hasText: "delivered" }));
    await visible(to("archive").getByRole("row").filter({ hasText: "delivered" }));
    const failed = to("flaky").getByRole("row").filter({ hasText: "failed" });
    await visible(failed.filter({ hasText: "503" }).filter({ hasText: "#1" }));
    expect(await to("flaky").getByRole("row").filter({ hasText: "delivered" }).count()).toBe(0);
  });
});
