import {
  EraseRequest,
  type ErasureResult,
  ErasureResult as ErasureResultSchema,
} from "@hookstream/contracts";
import { adminClient } from "../adminClient";
import { CliError, type Command, checkRequest, parseOptions } from "../command";
import { json } from "../table";

const USAGE =
  "hookstream erase --event <id> [--provider P] | --resource <type>:<id> [--dry-run] [--json]\n" +
  "  Removes every copy of one event, or of every event of one resource (e.g.\n" +
  "  fine_tuning_job:ftjob-abc): audit rows, the messages in WEBHOOKS, WEBHOOK_REPLAYS,\n" +
  "  WEBHOOK_DLQ, WEBHOOK_OUTCOMES and FINE_TUNING, inbox rows and projection rows, and\n" +
  "  records the erasure (ids and counts, never payloads) in table erasures.\n" +
  "  --provider names the sender of the event when several have one with that id.\n" +
  "  --dry-run counts what would go and removes nothing.";

function report(r: ErasureResult): string {
  const c = r.counts;
  const inbox = Object.entries(c.inbox)
    .map(([h, n]) => `${h} ${n}`)
    .join(", ");
  const lines = [
    r.dry_run ? "dry run: nothing removed; would erase" : `erased (erasure #${r.erasure_id}, by ${r.actor})`,
    `  events            ${r.event_ids.length}${r.event_ids.length ? `: ${r.event_ids.join(", ")}` : ""}`,
    `  webhook_events    ${c.webhook_events}`,
    `  WEBHOOKS          ${c.webhooks}`,
    `  WEBHOOK_REPLAYS   ${c.replays}`,
    `  WEBHOOK_DLQ       ${c.dlq}`,
    `  WEBHOOK_OUTCOMES  ${c.outcomes}`,
    `  FINE_TUNING       ${c.fine_tuning}`,
    `  inbox rows        ${inbox || "no inbox tables"}`,
    `  fine_tune_jobs    ${c.fine_tune_jobs}`,
    `  webhook_attempts  ${c.webhook_attempts}`,
    `  delivery log      ${c.webhook_deliveries} rows, ${c.deliveries} WEBHOOK_DELIVERIES messages`,
  ];
  if (r.truncated.length > 0)
    lines.push(
      `warning: the scan of ${r.truncated.join(", ")} hit its bound; run the erasure again to finish`,
    );
  if (r.rebuild_advised)
    lines.push(
      "the job's projection row was removed: `hookstream projections rebuild fine-tune` refolds it from its other snapshots",
    );
  return `${lines.join("\n")}\n`;
}

export const erase: Command = {
  name: "erase",
  usage: USAGE,
  async run(args, ctx) {
    const { values: v, positionals } = parseOptions(
      args,
      {
        event: { type: "string" },
        provider: { type: "string" },
        resource: { type: "string" },
        "dry-run": { type: "boolean" },
        json: { type: "boolean" },
      },
      USAGE,
    );
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${USAGE}`, 2);
    if ((v.event === undefined) === (v.resource === undefined))
      throw new CliError(`give either --event or --resource\n${USAGE}`, 2);
    let body: Record<string, unknown>;
    if (v.event !== undefined) body = { eventId: v.event, ...(v.provider ? { provider: v.provider } : {}) };
    else {
      const r = v.resource ?? "";
      const colon = r.indexOf(":");
      if (colon <= 0 || colon === r.length - 1)
        throw new CliError(`--resource must read <type>:<id>, e.g. fine_tuning_job:ftjob-abc\n${USAGE}`, 2);
      body = { resourceType: r.slice(0, colon), resourceId: r.slice(colon + 1) };
    }
    if (v["dry-run"]) body.dryRun = true;
    // the admin API's own schema: an id it would refuse (a wildcard, too long) is refused here
    checkRequest(EraseRequest, body, USAGE, {
      eventId: "event",
      provider: "provider",
      resourceType: "resource",
      resourceId: "resource",
    });
    const res = ErasureResultSchema.parse(await adminClient(ctx.env).post<unknown>("/admin/erase", body));
    ctx.out.write(v.json ? json(res) : report(res));
    return 0;
  },
};
