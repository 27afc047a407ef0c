import { parseArgs } from "node:util";
import { type DlqEntry, DlqList, DlqRedriveResult } from "@hookstream/contracts";
import { adminClient } from "../adminClient";
import { CliError, type Command } from "../command";

const FILTER_OPTIONS = {
  handler: { type: "string" },
  type: { type: "string" },
  since: { type: "string" },
  json: { type: "boolean" },
} as const;

function filters(args: string[], usage: string) {
  try {
    return parseArgs({ args, options: FILTER_OPTIONS, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${usage}`, 2);
  }
}

function table(messages: DlqEntry[]): string {
  const lines = messages.map(
    (m) =>
      `${String(m.seq).padStart(6)}  ${m.handler.padEnd(12)} ${m.event_type.padEnd(28)} ${(m.event_id ?? "-").padEnd(40)} ${String(m.attempts ?? "-").padStart(3)}  ${m.dead_at ?? m.stored_at}  ${m.error ?? ""}`,
  );
  return [
    `${"seq".padStart(6)}  ${"handler".padEnd(12)} ${"type".padEnd(28)} ${"event id".padEnd(40)} ${"att"}  dead at  error`,
    ...lines,
  ].join("\n");
}

const LIST_USAGE =
  "hookstream dlq list [--handler H] [--type T] [--since 2h|ISO-8601] [--json]\n" +
  "  Lists dead letters through the audit's admin API (HOOKSTREAM_ADMIN_URL, ADMIN_TOKEN).";

export const dlqList: Command = {
  name: "dlq list",
  usage: LIST_USAGE,
  async run(args, ctx) {
    const f = filters(args, LIST_USAGE);
    const res = DlqList.parse(
      await adminClient(ctx.env).get<unknown>("/admin/dlq", {
        handler: f.handler,
        type: f.type,
        since: f.since,
      }),
    );
    if (f.json) ctx.out.write(`${JSON.stringify(res, null, 2)}\n`);
    else if (res.count === 0) ctx.out.write("no dead letters match\n");
    else ctx.out.write(`${table(res.messages)}\n${res.count} dead letter(s)\n`);
    return 0;
  },
};

const REPLAY_USAGE =
  "hookstream dlq replay [--handler H] [--type T] [--since 2h|ISO-8601] [--json]\n" +
  "  Redrives the matching dead letters to their handler's replay consumer and removes them from the DLQ.";

export const dlqReplay: Command = {
  name: "dlq replay",
  usage: REPLAY_USAGE,
  async run(args, ctx) {
    const f = filters(args, REPLAY_USAGE);
    const res = DlqRedriveResult.parse(
      await adminClient(ctx.env).post<unknown>("/admin/dlq/replay", {
        handler: f.handler,
        type: f.type,
        since: f.since,
      }),
    );
    if (f.json) ctx.out.write(`${JSON.stringify(res, null, 2)}\n`);
    else {
      for (const m of res.messages)
        ctx.out.write(`replayed ${m.event_id ?? `seq ${m.seq}`} → ${m.handler}\n`);
      ctx.out.write(`${res.replayed} dead letter(s) replayed\n`);
    }
    return 0;
  },
};
