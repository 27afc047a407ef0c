import {
  BulkReplayProgress,
  BulkReplayRequest,
  BulkReplaySummary,
  EventIdParams,
  HANDLER_NAMES,
  MAX_REPLAY_RATE,
  SingleReplayRequest,
  SingleReplayResult,
} from "@hookstream/contracts";
import { adminClient, DEFAULT_ADMIN_URL, NO_ADMIN_TOKEN } from "../adminClient";
import { CliError, type Command, type CommandContext, checkRequest, oneOf, parseOptions } from "../command";
import { unreachable } from "../httpErrors";
import { json } from "../table";

const USAGE =
  "hookstream replay <event_id> [--provider P] [--handler H] [--force] [--json]\n" +
  "  Re-sends one audited event to one handler (default: the handler of its type) and\n" +
  "  says what the handler did with it. --force bypasses that handler's inbox, so work\n" +
  "  already done is done again. --provider names the event's sender when several\n" +
  "  have an event with that id.\n" +
  "hookstream replay --handler H [--type T] [--status S] [--since 2h|ISO] [--until 1h|ISO]\n" +
  "                  [--resource <type>:<id>] [--rate N] [--dry-run] [--force] [--json]\n" +
  "  Re-runs every audited event matching the filter on handler H, at most N a second\n" +
  "  (default 50), printing progress and a summary. Safe to run again after a stop: the\n" +
  "  handler's inbox skips what it has handled, unless --force. --dry-run only counts.\n" +
  `  --handler  one of ${HANDLER_NAMES.join(", ")}`;

const OPTIONS = {
  handler: { type: "string" },
  provider: { type: "string" },
  type: { type: "string" },
  status: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  resource: { type: "string" },
  rate: { type: "string" },
  "dry-run": { type: "boolean" },
  force: { type: "boolean" },
  json: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parse>["values"];

function parse(args: string[]) {
  return parseOptions(args, OPTIONS, USAGE);
}

const VERDICT_TEXT: Record<SingleReplayResult["verdict"], string> = {
  processed: "processed",
  skipped: "already handled; nothing done (use --force)",
  failed: "failed; the handler retries it",
  dead: "dead-lettered",
  ignored: "ignored by the handler",
  unconfirmed: "no verdict from the handler yet (is it running?); it stays queued on its replay consumer",
  no_handler: "queued; the handler has never started, it runs when the handler starts",
};

async function single(eventId: string, v: Values, ctx: CommandContext): Promise<number> {
  const body = checkRequest(
    SingleReplayRequest,
    { handler: v.handler, provider: v.provider, force: v.force ?? false },
    USAGE,
  );
  checkRequest(EventIdParams, { event_id: eventId }, USAGE, { event_id: "<event_id>" });
  const raw = await adminClient(ctx.env).post<unknown>(`/admin/replay/${encodeURIComponent(eventId)}`, body);
  const res = SingleReplayResult.parse(raw);
  if (v.json) {
    ctx.out.write(json(res));
  } else if (res.verdict === "skipped") {
    ctx.out.write(`${eventId}: already handled by ${res.handler}; nothing done (use --force)\n`);
  } else {
    const error = res.error ? `: ${res.error}` : "";
    ctx.out.write(
      `replayed ${eventId} to ${res.handler}${res.force ? " (forced)" : ""} as ${res.subject} #${res.replay_seq}: ${VERDICT_TEXT[res.verdict]}${error}\n`,
    );
  }
  return res.verdict === "failed" || res.verdict === "dead" ? 1 : 0;
}

/** Reads the NDJSON answer line by line. */
async function* lines(body: AsyncIterable<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  let buffered = "";
  for await (const chunk of body) {
    buffered += Buffer.from(chunk).toString("utf8");
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
      nl = buffered.indexOf("\n");
    }
  }
}

function summaryText(s: BulkReplaySummary): string {
  const handled =
    s.already_handled === null ? "" : `; ${s.already_handled} already handled by ${s.handler}'s inbox`;
  if (s.dry_run) {
    const skip = s.force || !s.already_handled ? "" : " (skipped unless --force)";
    return `dry run: ${s.matched} event(s) match for ${s.handler}${handled}${skip}; nothing replayed\n`;
  }
  const missing = s.missing ? `, ${s.missing} no longer in WEBHOOKS` : "";
  return `replayed ${s.replayed} of ${s.matched} event(s) to ${s.handler}${s.force ? " (forced)" : ""}${missing} in ${(s.ms / 1000).toFixed(1)} s${handled}${s.force ? "" : " (the inbox skips those)"}\n`;
}

async function bulk(v: Values, ctx: CommandContext): Promise<number> {
  const token = ctx.env.ADMIN_TOKEN;
  if (!token) throw new CliError(NO_ADMIN_TOKEN);
  let rate: number | undefined;
  if (v.rate !== undefined) {
    rate = Number(v.rate);
    // the admin API's own bound (one bulk replay per handler runs at a time, so this is its ceiling)
    if (!BulkReplayRequest.shape.rate.safeParse(rate).success)
      throw new CliError(
        `--rate must be a whole number of events per second, 1 to ${MAX_REPLAY_RATE}\n${USAGE}`,
        2,
      );
  }
  // the admin API's own schema: a filter it would refuse (a since no date holds) is refused here
  const request = checkRequest(
    BulkReplayRequest,
    {
      handler: v.handler,
      type: v.type,
      status: v.status,
      since: v.since,
      until: v.until,
      resource: v.resource,
      rate,
      dryRun: v["dry-run"] ?? false,
      force: v.force ?? false,
    },
    USAGE,
  );
  const base = (ctx.env.HOOKSTREAM_ADMIN_URL || DEFAULT_ADMIN_URL).replace(/\/+$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}/admin/replay`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(request),
    });
  } catch (err) {
    throw unreachable("the admin API", base, err);
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: the text itself
    }
    if (res.status === 401 || res.status === 403)
      throw new CliError(`refused by the admin API (${res.status}): ${message}; check ADMIN_TOKEN`);
    throw new CliError(`${res.status}: ${message}`);
  }
  for await (const line of lines(res.body as unknown as AsyncIterable<Uint8Array>)) {
    if (typeof line.error === "string")
      throw new CliError(`the replay stopped: ${line.error}; run it again to resume`);
    if (line.result !== undefined) {
      const summary = BulkReplaySummary.parse(line.result);
      ctx.out.write(v.json ? json(summary) : summaryText(summary));
      return 0;
    }
    const p = BulkReplayProgress.safeParse(line);
    if (p.success && !v.json) {
      ctx.out.write(
        `replayed ${p.data.replayed}/${p.data.matched}${p.data.missing ? ` (${p.data.missing} missing)` : ""} at ${p.data.rate}/s\n`,
      );
    }
  }
  throw new CliError("the admin API ended the replay without a summary; run it again to resume");
}

export const replay: Command = {
  name: "replay",
  usage: USAGE,
  async run(args, ctx) {
    const { positionals, values } = parse(args);
    oneOf("handler", values.handler, HANDLER_NAMES);
    if (positionals.length > 1) throw new CliError(`one event id at most\n${USAGE}`, 2);
    const eventId = positionals[0];
    const filters = (["type", "status", "since", "until", "resource", "rate", "dry-run"] as const).filter(
      (k) => values[k] !== undefined,
    );
    if (eventId !== undefined) {
      if (filters.length > 0)
        throw new CliError(`--${filters[0]} is for a replay by filter, not of one event id\n${USAGE}`, 2);
      return single(eventId, values, ctx);
    }
    if (!values.handler)
      throw new CliError(`an event id, or --handler with a filter, is needed\n${USAGE}`, 2);
    return bulk(values, ctx);
  },
};
