import { CliError, type CommandContext } from "./command";
import { COMMANDS, type CommandEntry } from "./commands/index";

function help(ctx: CommandContext): void {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4);
  ctx.out.write(
    "hookstream — OpenAI webhooks on NATS JetStream\n\nUsage: hookstream <command> [options]\n\n",
  );
  for (const c of COMMANDS) ctx.out.write(`  ${c.name.padEnd(width)}  ${c.summary}\n`);
  ctx.out.write("\nRun `hookstream help <command>` for a command's options.\n");
}

function find(name: string): CommandEntry | undefined {
  // a command name may have two words (`dlq list`, `projections rebuild`): longest match wins
  return COMMANDS.filter((c) => name === c.name || name.startsWith(`${c.name} `)).sort(
    (a, b) => b.name.length - a.name.length,
  )[0];
}

export async function main(
  argv: string[],
  ctx: CommandContext = { env: process.env, out: process.stdout, err: process.stderr },
): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === "help" || first === "--help" || first === "-h") {
    const topic = rest.length > 0 ? find(rest.join(" ")) : undefined;
    if (topic) ctx.out.write(`${(await topic.load()).usage}\n`);
    else help(ctx);
    return 0;
  }
  const second = rest[0];
  const entry = (second && find(`${first} ${second}`)) || find(first);
  if (!entry) {
    ctx.err.write(`hookstream: unknown command "${first}". Run \`hookstream help\`.\n`);
    return 2;
  }
  const args = entry.name.includes(" ") ? rest.slice(1) : rest;
  const command = await entry.load();
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
