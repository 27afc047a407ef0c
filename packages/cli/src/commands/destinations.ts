import { parseArgs } from "node:util";
import { DestinationList, DestinationStatus, DestinationTestResult } from "@hookstream/contracts";
import { adminClient } from "../adminClient";
import { CliError, type Command, type CommandContext } from "../command";

export const DEFAULT_DELIVERY_URL = "http://127.0.0.1:3007";

/** The delivery service's admin API ($HOOKSTREAM_DELIVERY_URL, bearer $ADMIN_TOKEN). */
function delivery(env: NodeJS.ProcessEnv) {
  return adminClient({ ...env, HOOKSTREAM_ADMIN_URL: env.HOOKSTREAM_DELIVERY_URL || DEFAULT_DELIVERY_URL });
}

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(1)}%`);
const ms = (v: number | null) => (v === null ? "—" : `${Math.round(v)} ms`);

function printOne(ctx: CommandContext, d: DestinationStatus): void {
  const state =
    d.state === "open" && d.retry_at
      ? `open until ${d.retry_at}`
      : d.state === "active" && d.failures > 0
        ? "failing"
        : d.state;
  ctx.out.write(
    `${d.name.padEnd(20)} ${state.padEnd(10)} pending ${String(d.pending ?? "—").padStart(6)}  ok ${pct(d.success_rate).padStart(6)}  p99 ${ms(d.p99_ms).padStart(8)}  ${d.source}/${d.ordering}  ${d.url}\n`,
  );
  if (d.reason) ctx.out.write(`${"".padEnd(21)}${d.reason}\n`);
  if (d.last_error) ctx.out.write(`${"".padEnd(21)}last error ${d.last_error_at ?? ""}: ${d.last_error}\n`);
}

function flags(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: "boolean" }, reason: { type: "string" } },
    });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

export const destinations: Command = {
  name: "destinations",
  usage:
    "hookstream destinations [--json]\n  Every destination with its state (active, failing, open, paused), pending events, success rate, p99 and last error.\n  Reads the delivery service ($HOOKSTREAM_DELIVERY_URL, default http://127.0.0.1:3007) with $ADMIN_TOKEN.",
  async run(args, ctx) {
    const { values } = flags(args);
    const list = DestinationList.parse(await delivery(ctx.env).get("/admin/destinations"));
    if (values.json) {
      ctx.out.write(`${JSON.stringify(list, null, 2)}\n`);
      return 0;
    }
    if (list.destinations.length === 0) ctx.out.write("no destination is configured\n");
    for (const d of list.destinations) printOne(ctx, d);
    return 0;
  },
};

function action(verb: "pause" | "resume"): Command {
  return {
    name: `destinations ${verb}`,
    usage: `hookstream destinations ${verb} <name>${verb === "pause" ? " [--reason TEXT]" : ""} [--json]\n  ${verb === "pause" ? "Holds a destination: its events wait in the stream, nothing is sent or dead-lettered, on every instance." : "Delivers to a paused (or open) destination again, in order."}`,
    async run(args, ctx) {
      const { values, positionals } = flags(args);
      const name = positionals[0];
      if (!name) throw new CliError(`usage: hookstream destinations ${verb} <name>`, 2);
      const body = verb === "pause" && values.reason ? { reason: values.reason } : {};
      const d = DestinationStatus.parse(
        await delivery(ctx.env).post(`/admin/destinations/${encodeURIComponent(name)}/${verb}`, body),
      );
      if (values.json) ctx.out.write(`${JSON.stringify(d, null, 2)}\n`);
      else printOne(ctx, d);
      return 0;
    },
  };
}

export const destinationsPause = action("pause");
export const destinationsResume = action("resume");

export const destinationsTest: Command = {
  name: "destinations test",
  usage:
    "hookstream destinations test <name> [--json]\n  Sends one signed hookstream.test event to the destination now (outside the queue) and prints its answer.",
  async run(args, ctx) {
    const { values, positionals } = flags(args);
    const name = positionals[0];
    if (!name) throw new CliError("usage: hookstream destinations test <name>", 2);
    const r = DestinationTestResult.parse(
      await delivery(ctx.env).post(`/admin/destinations/${encodeURIComponent(name)}/test`, {}),
    );
    if (values.json) ctx.out.write(`${JSON.stringify(r, null, 2)}\n`);
    else
      ctx.out.write(
        r.ok
          ? `${r.name}: delivered (${r.status_code}) in ${r.latency_ms} ms\n`
          : `${r.name}: failed${r.status_code ? ` (${r.status_code})` : ""} in ${r.latency_ms} ms: ${r.error}\n`,
      );
    return r.ok ? 0 : 1;
  },
};
