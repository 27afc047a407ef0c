import { type Command, parseOptions } from "../command";
import { query } from "../database";

const USAGE =
  "hookstream stats [--json]\n  Counts webhook_events rows by status and by event type ($DATABASE_URL).";

export const stats: Command = {
  name: "stats",
  usage: USAGE,
  async run(args, ctx) {
    const json = parseOptions(args, { json: { type: "boolean" } }, USAGE).values.json ?? false;
    const byStatus = await query<{ status: string; n: number }>(
      ctx.env,
      "SELECT status, count(*)::int AS n FROM webhook_events GROUP BY status ORDER BY status",
    );
    const byType = await query<{ event_type: string; n: number }>(
      ctx.env,
      "SELECT event_type, count(*)::int AS n FROM webhook_events GROUP BY event_type ORDER BY n DESC, event_type",
    );
    const total = byStatus.reduce((sum, r) => sum + r.n, 0);
    if (json) {
      ctx.out.write(
        `${JSON.stringify({ total, by_status: Object.fromEntries(byStatus.map((r) => [r.status, r.n])), by_type: Object.fromEntries(byType.map((r) => [r.event_type, r.n])) }, null, 2)}\n`,
      );
      return 0;
    }
    ctx.out.write(`events: ${total}\n\nby status\n`);
    for (const r of byStatus) ctx.out.write(`  ${r.status.padEnd(10)} ${String(r.n).padStart(8)}\n`);
    ctx.out.write("\nby type\n");
    for (const r of byType) ctx.out.write(`  ${r.event_type.padEnd(32)} ${String(r.n).padStart(8)}\n`);
    return 0;
  },
};
