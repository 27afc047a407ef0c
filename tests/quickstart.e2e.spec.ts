/**
 * The README's quickstart as a newcomer runs it (issue 26): a clean copy of the
 * project (the files a clone holds: tracked and new ones, nothing ignored, so no
 * build output, no `.turbo`, no `.hookstream`), every port moved, `npm start`, then
 * each command of the README's quickstart block, exactly as written, from another
 * process whose environment sets none of hookstream's variables. Each exits 0 with
 * what the README says it shows. Then a second `npm start` beside the first stops at
 * once, naming the busy port, and Ctrl-C (SIGINT) stops the first cleanly.
 *
 * One step differs from a clone: `npm install` is not run; the copy's node_modules
 * is this checkout's, hard-linked (the workspaces' links are relative, so they point
 * into the copy). The build is the copy's own, from nothing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SERVICES } from "@hookstream/contracts";
import { createTestDatabase, deleteStreams, eventually, freePort, testTopology } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";

const REPO = new URL("..", import.meta.url).pathname;
const natsUrl = inject("natsUrl");
const topology = testTopology("qs");
const db = await createTestDatabase(inject("databaseUrl"), "qs");
const copy = mkdtempSync(join(tmpdir(), "hookstream-quickstart-"));

/** The README's quickstart block: the lines after the `<!-- quickstart` marker, in its sh fence. */
function quickstartCommands(readme: string): string[] {
  const marker = readme.indexOf("<!-- quickstart");
  expect(marker, "the README marks its quickstart block").toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker));
  return (block?.[1] ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

/** A shell's environment with nothing of hookstream's in it (nor vitest's source condition). */
function cleanEnv(): NodeJS.ProcessEnv {
  const names =
    /^(HOOKSTREAM_|ADMIN_TOKEN|GATEWAY_|OPENAI_|WEBHOOK_|NOTIFY_|DATABASE_URL|NATS_|LOG_|NODE_OPTIONS|NODE_ENV|VITEST|TEST|npm_)|_(PORT|URL|HOST)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !names.test(k)));
}

const ports = Object.fromEntries(
  await Promise.all(Object.values(SERVICES).map(async (s) => [s.portVar, String(await freePort())] as const)),
);
/** What the person sets on `npm start`: moved ports; this test's database and namespace on the shared servers. */
const startEnv = {
  ...cleanEnv(),
  ...ports,
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  // a Standard Webhooks sender beside OpenAI (docs/webhooks.md's example), for npm run attacks
  WEBHOOK_PROVIDERS: JSON.stringify([
    { name: "acme", secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], envelope: "standard" },
  ]),
};

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: copy, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} took over ${timeoutMs} ms\n${out}\n${err}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - started });
    });
  });
}

/** The pids below `pid` (children first), from /proc. */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    let children: number[] = [];
    try {
      for (const task of readdirSync(`/proc/${p}/task`))
        children.push(
          ...readFileSync(`/proc/${p}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
        );
    } catch {
      children = [];
    }
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

/**
 * Ctrl-C: SIGINT to the node process doing the work (`hookstream tail`, `dist/start.js`)
 * below npm and its shell. (A terminal signals the whole group, and npm and sh then
 * end by the signal whatever their child answered, so the shell shows 130 as for any
 * Ctrl-C; the command itself ends cleanly, and that is what this checks.)
 */
function ctrlC(child: ChildProcess, script: string): void {
  // the last match is the deepest: the shell npm runs names the script too
  const target = descendants(child.pid ?? 0).findLast((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ").includes(script);
    } catch {
      return false;
    }
  });
  expect(target, `a process running ${script} under ${child.pid}`).toBeDefined();
  process.kill(target ?? 0, "SIGINT");
}

/** Ends a process group left behind by a failed test. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-(child.pid ?? 0), "SIGKILL");
  } catch {
    // already gone
  }
}

/** For eventually(): not yet, and what was seen (its timeout message shows the last one). */
function notYet(seen: unknown): never {
  throw new Error(typeof seen === "string" ? seen.slice(-3000) : JSON.stringify(seen).slice(-3000));
}

/** One README line, through a shell as a person types it, in the copy, with a clean environment. */
const typed = (line: string) => run("sh", ["-c", line], cleanEnv());

let system: ChildProcess;
let systemExit: Promise<number | null>;
let systemOutput = "";

beforeAll(async () => {
  // the files a clone of this checkout holds (tracked, and new ones not ignored)
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: REPO })
    .toString("utf8")
    .split("\0")
    .filter(Boolean);
  for (const f of files) {
    try {
      if (!statSync(join(REPO, f)).isFile()) continue;
    } catch {
      continue; // deleted in the work tree
    }
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(REPO, f), join(copy, f));
  }
  execFileSync("cp", ["-al", join(REPO, "node_modules"), join(copy, "node_modules")]);

  // its own process group, as a terminal's foreground job
  system = spawn("npm", ["start"], {
    cwd: copy,
    env: startEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  system.stdout?.on("data", (d) => {
    systemOutput += String(d);
  });
  system.stderr?.on("data", (d) => {
    systemOutput += String(d);
  });
  systemExit = new Promise((resolve) => system.once("exit", (code) => resolve(code)));
  await eventually(() => /hookstream start: ready/.test(systemOutput) || notYet(systemOutput), {
    timeoutMs: 280_000,
    intervalMs: 250,
    message: "npm start to be ready",
  });
}, 300_000);

afterAll(async () => {
  if (system && system.exitCode === null) killGroup(system);
  const nc = await connect({ servers: natsUrl.split(",") });
  await deleteStreams(await jetstreamManager(nc), topology);
  await nc.close();
  await db.drop();
  // the copy holds a hard-linked node_modules: tens of thousands of entries to unlink
  await rm(copy, { recursive: true, force: true });
}, 300_000);

describe("the README's quickstart, on moved ports, from a clean copy", () => {
  const commands = quickstartCommands(readFileSync(join(REPO, "README.md"), "utf8"));

  it("is send, events, job, dlq list and tail, each through npx hookstream", () => {
    expect(commands.map((c) => c.split(" ").slice(0, 3).join(" "))).toEqual([
      "npx hookstream send",
      "npx hookstream events",
      "npx hookstream job",
      "npx hookstream dlq",
      "npx hookstream tail",
    ]);
  });

  it("npm start printed its development token once and left it, with every URL, for the CLI", () => {
    const token = /development admin token \(console and CLI\): (dev_\S+)/.exec(systemOutput)?.[1];
    expect(token, systemOutput.slice(-3000)).toBeDefined();
    expect(systemOutput.split(token ?? "").length - 1).toBe(1);
    const file = join(copy, ".hookstream", "dev.env");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).toContain(`ADMIN_TOKEN='${token}'`);
    expect(text).toContain(`GATEWAY_URL='http://127.0.0.1:${ports.GATEWAY_PORT}'`);
    expect(text).toContain(`HOOKSTREAM_FINE_TUNE_URL='http://127.0.0.1:${ports.FINE_TUNE_PORT}'`);
    expect(text).toContain(`DATABASE_URL='${db.url}'`);
    // the copy's git status would not show it: .hookstream/ is ignored
    expect(readFileSync(join(copy, ".gitignore"), "utf8")).toMatch(/^\.hookstream\/$/m);
  });

  it("runs every command as written: each exits 0 with what the README says it shows", async () => {
    const [send, events, job, dlq, tail] = commands as [string, string, string, string, string];

    const sent = await typed(send);
    expect(sent.code, sent.err).toBe(0);
    expect(sent.out).toMatch(/^200 \{"status":"accepted","event_id":"evt_/);
    const eventId = /"event_id":"([^"]+)"/.exec(sent.out)?.[1] ?? "";

    // the audit and the projection work behind the 200: a person may run the next line too soon
    const listed = await eventually(
      async () => {
        const r = await typed(events);
        return r.code === 0 && r.out.includes(eventId) && /\bprocessed\b/.test(r.out) ? r : notYet(r);
      },
      { timeoutMs: 60_000, intervalMs: 500, message: "events to list the sent event, processed" },
    );
    expect(listed.out.split("\n")[0]).toMatch(
      /^received\s+status\s+provider\s+project\s+type\s+event id\s+resource/,
    );
    expect(listed.out).toMatch(/processed\s+openai\s+default\s+fine_tuning\.job\.succeeded/);
    expect(listed.out).toContain("fine_tuning_job:ftjob-1");

    const shown = await eventually(
      async () => {
        const r = await typed(job);
        return r.code === 0 ? r : notYet(r);
      },
      { timeoutMs: 60_000, intervalMs: 500, message: "job to show ftjob-1" },
    );
    expect(shown.out).toMatch(/^job\s+ftjob-1$/m);
    expect(shown.out).toMatch(/^status\s+succeeded$/m);
    expect(shown.out).toContain(eventId);

    const dead = await typed(dlq);
    expect(dead.code, dead.err).toBe(0);
    expect(dead.out).toBe("no dead letters match\n");

    // tail follows until Ctrl-C: it shows the last events first, then a new one as it arrives
    const tailing = spawn("sh", ["-c", `exec ${tail}`], { cwd: copy, env: cleanEnv(), detached: true });
    let tailed = "";
    tailing.stdout.on("data", (d) => {
      tailed += String(d);
    });
    tailing.stderr.on("data", (d) => {
      tailed += String(d);
    });
    const tailExit = new Promise<number | null>((resolve) => tailing.once("exit", (code) => resolve(code)));
    onTestFinished(() => {
      if (tailing.exitCode === null) killGroup(tailing);
    });
    await eventually(() => tailed.includes(eventId) || notYet(tailed), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: "tail to show the sent event",
    });
    expect(tailed.split("\n")[0]).toMatch(/^time\s+provider\s+type\s+event id\s+resource\s+status/);
    const again = await typed(`npx hookstream send batch.completed --data '{"id":"batch_qs"}'`);
    expect(again.code, again.err).toBe(0);
    const againId = /"event_id":"([^"]+)"/.exec(again.out)?.[1] ?? "";
    await eventually(
      () => (tailed.includes(againId) && /processed \(batch\)/.test(tailed)) || notYet(tailed),
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: "tail to show the new event and its outcome as they arrive",
      },
    );
    expect(tailed).toMatch(
      new RegExp(`openai\\s+batch\\.completed\\s+${againId}\\s+batch:batch_qs\\s+received`),
    );
    ctrlC(tailing, "hookstream tail");
    expect(await tailExit).toBe(0);
  }, 240_000);

  it("listens on loopback only: a development run's gateway may verify with the public development secret", () => {
    const listening = [...systemOutput.matchAll(/Server listening at (http:\/\/[^"\s]+)/g)].map((m) => m[1]);
    expect(listening.length, systemOutput.slice(-3000)).toBeGreaterThanOrEqual(Object.keys(SERVICES).length);
    for (const url of listening) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it("answers an attacker's requests as docs/security-checks.md shows (npm run attacks)", async () => {
    const attacks = await run("npm", ["run", "attacks", "--silent"], cleanEnv(), 180_000);
    console.log(
      attacks.out
        .split("\n")
        .filter((l) => l.startsWith("|") || /answers/.test(l))
        .join("\n"),
    );
    expect(attacks.code, `${attacks.out}\n${attacks.err}`).toBe(0);
    expect(attacks.out).toMatch(/All \d+ answers as expected/);
  }, 200_000);

  it("a second npm start beside it exits non-zero at once, naming the busy port", async () => {
    const second = await run("npm", ["start"], startEnv);
    console.log(`second npm start: exit ${second.code} after ${second.ms} ms`);
    expect(second.code).not.toBe(0);
    expect(second.err).toContain(`port ${ports.GATEWAY_PORT} (GATEWAY_PORT, gateway) is already in use`);
    // stopped before building or starting anything
    expect(second.out + second.err).not.toMatch(/Tasks:|starting /);
  }, 60_000);

  it("Ctrl-C stops every service cleanly", async () => {
    ctrlC(system, "dist/start.js");
    expect(await systemExit).toBe(0);
    expect(systemOutput).toContain("every service stopped cleanly");
  }, 60_000);
});
