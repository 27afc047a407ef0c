import { parseArgs } from "node:util";
import { adminClient } from "../adminClient";
import { CliError, type Command } from "../command";

const USAGE =
  "hookstream replay <event_id> [--handler H] [--force] [--json]\n" +
  "  Re-sends one audited event to one handler (default: the handler of its type).\n" +
  "  --force bypasses that handler's inbox, so work already done is done again.";

export const replay: Command = {
  name: "replay",
  summary: "replay one event to one handler (--handler H, --force)",
  usage: USAGE,
  async run(args, ctx) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(args);
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n${USAGE}`, 2);
    }
    const eventId = parsed.positionals[0];
    if (!eventId || parsed.positionals.length > 1) throw new CliError(`one event id expected\n${USAGE}`, 2);
    const res = await adminClient(ctx.env).post<{ handler: string; subject: string; replay_seq: number }>(
      `/admin/replay/${encodeURIComponent(eventId)}`,
      { handler: parsed.values.handler, force: parsed.values.force ?? false },
    );
    if (parsed.values.json) ctx.out.write(`${JSON.stringify(res, null, 2)}\n`);
    else
      ctx.out.write(
        `replayed ${eventId} to ${res.handler}${parsed.values.force ? " (forced)" : ""} as ${res.subject} #${res.replay_seq}\n`,
      );
    return 0;
  },
};

function parse(args: string[]) {
  return parseArgs({
    args,
    options: { handler: { type: "string" }, force: { type: "boolean" }, json: { type: "boolean" } },
    allowPositionals: true,
  });
}
