import { readFileSync } from "node:fs";
import { CliError, type CommandContext } from "./command";
import { COMMANDS, type CommandEntry } from "./commands/index";
import { withDevEnv } from "./devEnv";
import { didYouMean } from "./suggest";

const HELP_WORDS = new Set(["help", "--help", "-h"]);
const VERSION_WORDS = new Set(["version", "--version", "-V"]);

export function version(): string {
  // src/main.ts and dist/main.js both sit one folder below the package root
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function listing(entries: CommandEntry[], strip = ""): string {
  const names = entries.map((c) => c.name.slice(strip.length));
  const width = Math.max(...names.map((n) => n.length), 4);
  return entries.map((c, i) => `  ${(names[i] ?? "").padEnd(width)}  ${c.summary}\n`).join("");
}

function help(ctx: CommandContext): void {
  ctx.out.write(
    "hookstream — OpenAI webhooks on NATS JetStream\n\nUsage: hookstream <command> [options]\n\nCommands:\n",
  );
  ctx.out.write(listing(COMMANDS));
  ctx.out.write(
    "\nEvery command takes --help (its options) and --json (machine-readable output).\n" +
      "hookstream --version prints the version.\n" +
      "Where the services are: GATEWAY_URL, HOOKSTREAM_ADMIN_URL, HOOKSTREAM_FINE_TUNE_URL, ADMIN_TOKEN,\n" +
      "DATABASE_URL, NATS_URL; each one unset is read from .hookstream/dev.env, which `npm start` writes.\n",
  );
}

/** `dlq list` and `dlq replay` form the group `dlq`. */
function group(word: string): CommandEntry[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${word} `));
}

function groupHelp(word: string, ctx: CommandContext): void {
  ctx.out.write(`Usage: hookstream ${word} <command> [options]\n\nCommands:\n`);
  ctx.out.write(listing(group(word), `${word} `));
  ctx.out.write(`\nRun \`hookstream ${word} <command> --help\` for a command's options.\n`);
}

/** The command `words` start with: a two-word name (`dlq list`) before a one-word one. */
function find(first: string, second: string | undefined): CommandEntry | undefined {
  return (
    (second !== undefined && COMMANDS.find((c) => c.name === `${first} ${second}`)) ||
    COMMANDS.find((c) => c.name === first)
  );
}

/** `--help` or `-h` among a command's arguments (before a `--`). */
function asksHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

function processContext(): CommandContext {
  return { env: withDevEnv(process.env, process.cwd()), out: process.stdout, err: process.stderr };
}

export async function main(argv: string[], ctx: CommandContext = processContext()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || HELP_WORDS.has(first)) {
    const [word, sub] = rest;
    const entry = word === undefined ? undefined : find(word, sub);
    if (word === undefined) help(ctx);
    else if (entry) ctx.out.write(`${(await entry.load()).usage}\n`);
    else if (group(word).length > 0) groupHelp(word, ctx);
    else {
      const names = COMMANDS.map((c) => c.name);
      ctx.err.write(`hookstream: no command "${rest.join(" ")}".${didYouMean(word, names)}\n`);
      return 2;
    }
    return 0;
  }
  if (VERSION_WORDS.has(first)) {
    ctx.out.write(`hookstream ${version()}\n`);
    return 0;
  }
  const entry = find(first, rest[0]);
  if (!entry) {
    const members = group(first);
    if (members.length > 0) {
      const sub = rest[0];
      if (sub === undefined || asksHelp([sub])) {
        groupHelp(first, ctx);
        return 0;
      }
      ctx.err.write(
        `hookstream: unknown command "${first} ${sub}".${didYouMean(
          sub,
          members.map((c) => c.name.slice(first.length + 1)),
          (s) => `"${first} ${s}"`,
        )}\n`,
      );
      groupHelp(first, { ...ctx, out: ctx.err });
      return 2;
    }
    const words = [...new Set(COMMANDS.map((c) => c.name.split(" ")[0] ?? c.name))];
    ctx.err.write(
      `hookstream: unknown command "${first}".${didYouMean(first, words)} Run \`hookstream --help\` for the list.\n`,
    );
    return 2;
  }
  const args = entry.name.includes(" ") ? rest.slice(1) : rest;
  const command = await entry.load();
  if (asksHelp(args)) {
    ctx.out.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, ctx);
  } catch (err) {
    if (err instanceof CliError) {
      ctx.err.write(`hookstream ${command.name}: ${err.message}\n`);
      return err.exitCode;
    }
    ctx.err.write(`hookstream ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
