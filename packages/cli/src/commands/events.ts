import { parseArgs } from "node:util";
import { AUDIT_EVENT_STATUSES, type EventSummary } from "@hookstream/contracts";
import { CliError, type Command } from "../command";
import { query } from "../database";

const USAGE = `hookstream events [--status S] [--type T] [--project P] [--limit N] [--json]
  Lists audit rows (webhook_events), newest first, from $DATABASE_URL.
  --project   only the events of one OpenAI project (OPENAI_PROJECTS; "default" without it)`;

const STATUSES: readonly string[] = AUDIT_EVENT_STATUSES;

/** The admin API's event summary, read straight from the table: the driver gives created_at as a Date. */
type EventRow = Pick<
  EventSummary,
  "event_id" | "event_type" | "status" | "retry_count" | "resource_type" | "resource_id" | "error_message"
> & { created_at: Date; project: string | null };

export const events: Command = {
  name: "events",
  usage: USAGE,
  async run(args, ctx) {
    let values: { status?: string; type?: string; project?: string; limit?: string; json?: boolean };
    try {
      values = parseArgs({
        args,
        options: {
          status: { type: "string" },
          type: { type: "string" },
          project: { type: "string" },
          limit: { type: "string" },
          json: { type: "boolean" },
        },
      }).values;
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n${USAGE}`, 2);
    }
    if (values.status && !STATUSES.includes(values.status)) {
      throw new CliError(`--status must be one of ${STATUSES.join(", ")}`, 2);
    }
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new CliError("--limit must be an integer from 1 to 10000", 2);
    const where: string[] = [];
    const params: unknown[] = [];
    if (values.status) where.push(`status = $${params.push(values.status)}`);
    if (values.type) where.push(`event_type = $${params.push(values.type)}`);
    if (values.project) where.push(`project = $${params.push(values.project)}`);
    const rows = await query<EventRow>(
      ctx.env,
      `SELECT event_id, event_type, status, retry_count, resource_type, resource_id, error_message, created_at,
         project
       FROM webhook_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    if (values.json) {
      ctx.out.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      ctx.out.write("no events match\n");
      return 0;
    }
    for (const r of rows) {
      const resource = r.resource_id ? `${r.resource_type}:${r.resource_id}` : "-";
      const project = r.project ? `  project=${r.project}` : "";
      ctx.out.write(
        `${new Date(r.created_at).toISOString()}  ${r.status.padEnd(9)} ${r.event_type.padEnd(28)} ${r.event_id.padEnd(40)} ${resource}${project}${r.retry_count ? `  retries=${r.retry_count}` : ""}${r.error_message ? `  ${r.error_message}` : ""}\n`,
      );
    }
    return 0;
  },
};
