import { AUDIT_EVENT_STATUSES, type EventSummary } from "@hookstream/contracts";
import { CliError, type Command, oneOf, parseOptions } from "../command";
import { query } from "../database";
import { json, table } from "../table";

const USAGE = `hookstream events [--status S] [--type T] [--provider P] [--project P] [--limit N] [--json]
  Lists audit rows (webhook_events), newest first, from $DATABASE_URL.
  --status    one of ${AUDIT_EVENT_STATUSES.join(", ")}
  --type      an event type, e.g. fine_tuning.job.succeeded
  --provider  the sender, e.g. openai
  --project   only the events of one OpenAI project (OPENAI_PROJECTS; "default" without it)
  --limit     how many rows (default 20, at most 10000)
  --json      the rows as JSON`;

/** The admin API's event summary, read straight from the table: the driver gives created_at as a Date. */
type EventRow = Pick<
  EventSummary,
  "event_id" | "event_type" | "status" | "retry_count" | "resource_type" | "resource_id" | "error_message"
> & { provider: string | null; project: string | null; created_at: Date };

export const events: Command = {
  name: "events",
  usage: USAGE,
  async run(args, ctx) {
    const { values, positionals } = parseOptions(
      args,
      {
        status: { type: "string" },
        type: { type: "string" },
        provider: { type: "string" },
        project: { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean" },
      },
      USAGE,
    );
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${USAGE}`, 2);
    const status = oneOf("status", values.status, AUDIT_EVENT_STATUSES);
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new CliError("--limit must be an integer from 1 to 10000", 2);
    const where: string[] = [];
    const params: unknown[] = [];
    if (status) where.push(`status = $${params.push(status)}`);
    if (values.type) where.push(`event_type = $${params.push(values.type)}`);
    if (values.provider) where.push(`provider = $${params.push(values.provider)}`);
    if (values.project) where.push(`project = $${params.push(values.project)}`);
    const rows = await query<EventRow>(
      ctx.env,
      `SELECT provider, project, event_id, event_type, status, retry_count, resource_type, resource_id, error_message,
         created_at
       FROM webhook_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    if (values.json) {
      ctx.out.write(json(rows));
      return 0;
    }
    if (rows.length === 0) {
      ctx.out.write("no events match\n");
      return 0;
    }
    ctx.out.write(
      table(
        ["received", "status", "provider", "project", "type", "event id", "resource", "retries", "error"],
        rows.map((r) => [
          new Date(r.created_at).toISOString(),
          r.status,
          r.provider ?? "-",
          r.project ?? "-",
          r.event_type,
          r.event_id,
          r.resource_id ? `${r.resource_type}:${r.resource_id}` : "-",
          String(r.retry_count),
          r.error_message ?? "",
        ]),
      ),
    );
    return 0;
  },
};
