import { type DlqEntry, DlqList, DlqQuery, DlqRedriveResult, HANDLER_NAMES } from "@hookstream/contracts";
import { adminClient } from "../adminClient";
import { CliError, type Command, checkRequest, oneOf, parseOptions } from "../command";
import { json, table as render } from "../table";

const FILTER_OPTIONS = {
  handler: { type: "string" },
  type: { type: "string" },
  since: { type: "string" },
  json: { type: "boolean" },
} as const;

function filters(args: string[], usage: string) {
  const { values, positionals } = parseOptions(args, FILTER_OPTIONS, usage);
  if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${usage}`, 2);
  // a name the admin API would refuse is refused here, with the names it takes
  oneOf("handler", values.handler, HANDLER_NAMES);
  // and so is a type or a since it would refuse (its own schema)
  checkRequest(DlqQuery, { handler: values.handler, type: values.type, since: values.since }, usage);
  return values;
}

function table(messages: DlqEntry[]): string {
  return render(
    ["seq", "handler", "type", "event id", "attempts", "dead at", "error"],
    messages.map((m) => [
      String(m.seq),
      m.handler,
      m.event_type,
      m.event_id ?? "-",
      String(m.attempts ?? "-"),
      m.dead_at ?? m.stored_at,
      m.error ?? "",
    ]),
  );
}

const LIST_USAGE =
  "hookstream dlq list [--handler H] [--type T] [--since 2h|ISO-8601] [--json]\n" +
  "  Lists dead letters through the admin API (HOOKSTREAM_ADMIN_URL, ADMIN_TOKEN).\n" +
  `  --handler  one of ${HANDLER_NAMES.join(", ")}`;

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
    if (f.json) ctx.out.write(json(res));
    else if (res.count === 0) ctx.out.write("no dead letters match\n");
    else ctx.out.write(`${table(res.messages)}${res.count} dead letter(s)\n`);
    return 0;
  },
};

const REPLAY_USAGE =
  "hookstream dlq replay [--handler H] [--type T] [--since 2h|ISO-8601] [--json]\n" +
  "  Redrives the matching dead letters and removes them from the DLQ: a handler's go back to that\n" +
  "  handler, a destination's (delivery.<name>) to that destination only. One nothing would take back\n" +
  "  (a destination no delivery instance has, a handler never started) stays in the DLQ, with the\n" +
  "  reason; then the command exits 1.\n" +
  `  --handler  one of ${HANDLER_NAMES.join(", ")} (without it: every dead letter, destinations' included)`;

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
    if (f.json) ctx.out.write(json(res));
    else {
      for (const m of res.messages)
        ctx.out.write(`replayed ${m.event_id ?? `seq ${m.seq}`} → ${m.handler}\n`);
      ctx.out.write(`${res.replayed} dead letter(s) replayed\n`);
      for (const m of res.left)
        ctx.err.write(`left ${m.event_id ?? `seq ${m.seq}`} (${m.handler}) in the DLQ: ${m.reason}\n`);
      if (res.left.length > 0) ctx.err.write(`${res.left.length} dead letter(s) left in the DLQ\n`);
    }
    return res.left.length > 0 ? 1 : 0;
  },
};
