import { makeTopology, OPENAI_PROVIDER, Outcome, resourceOf, type Topology } from "@hookstream/contracts";
import { natsConnectionOptions, natsSecurityFromEnv } from "@hookstream/messaging";
import { DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CliError, type Command, type CommandContext, parseOptions } from "../command";

const USAGE = `hookstream tail [--type T] [--provider P] [--last N] [--json]
  Follows the events stream (WEBHOOKS) live, as \`nats stream view\` would without the nats
  CLI: one line per event as it arrives (time, provider, type, event id, resource, status
  "received"), then one line per handler outcome of those events (processed, failed,
  ignored, dead). Ctrl-C stops it.
  --type      an event type; NATS wildcards work: batch.*, fine_tuning.>
  --provider  a sender, e.g. openai
  --last      first show the last N matching events already stored (default 10; 0: only new ones)
  --json      one JSON object per line
  Reads NATS_URL and HOOKSTREAM_NAMESPACE (from .hookstream/dev.env when unset).`;

/** How far back the history of a filtered tail looks for its last N. */
const HISTORY_SCAN = 10_000;

export interface TailLine {
  time: string;
  provider: string;
  type: string;
  event_id: string;
  resource: string | null;
  status: string;
  handler?: string;
  seq: number;
}

const COLUMNS = ["time", "provider", "type", "event id", "resource", "status"] as const;
const WIDTHS = [20, 10, 28, 40, 36];

/** Fixed widths: a line is printed as it comes, before the next one's width is known. */
function row(cells: readonly string[]): string {
  return `${cells.map((c, i) => (i < WIDTHS.length ? c.padEnd(WIDTHS[i] ?? 0) : c)).join("  ")}\n`;
}

function textLine(l: TailLine): string {
  return row([
    l.time.replace(/\.\d+Z$/, "Z"),
    l.provider,
    l.type,
    l.event_id,
    l.resource ?? "-",
    l.handler ? `${l.status} (${l.handler})` : l.status,
  ]);
}

/** The filter subject of the WEBHOOKS consumer: `webhooks.<provider>.<type>` with wildcards. */
export function tailSubject(topology: Topology, provider?: string, type?: string): string {
  const prefix = topology.subjects.webhooksAll.slice(0, -1);
  if (!provider && !type) return topology.subjects.webhooksAll;
  return `${prefix}${provider || "*"}.${type || ">"}`;
}

/** An event line from a WEBHOOKS message: its provider and type from the subject, its id as the audit takes it. */
function eventLine(m: JsMsg, topology: Topology): TailLine {
  const rest = m.subject.slice(topology.subjects.webhooksAll.length - 1);
  const dot = rest.indexOf(".");
  const provider = rest.slice(0, dot);
  const type = rest.slice(dot + 1);
  let body: Record<string, unknown> = {};
  try {
    body = m.json<Record<string, unknown>>() ?? {};
  } catch {
    // not JSON: shown by its headers alone
  }
  const header = (name: string) => m.headers?.get(name) || undefined;
  const id =
    provider === OPENAI_PROVIDER && typeof body.id === "string"
      ? body.id
      : (header("Webhook-Id") ?? header("Nats-Msg-Id") ?? `seq ${m.seq}`);
  let resource: string | null = null;
  if (provider === OPENAI_PROVIDER && body.data && typeof body.data === "object") {
    try {
      const r = resourceOf({ type, data: body.data as never });
      resource = r.resourceId ? `${r.resourceType}:${r.resourceId}` : null;
    } catch {
      resource = null;
    }
  }
  const receivedAt = header("Received-At");
  const time =
    receivedAt && !Number.isNaN(Date.parse(receivedAt))
      ? receivedAt
      : new Date(Number(m.timestampNanos / 1_000_000n)).toISOString();
  return {
    time: new Date(time).toISOString(),
    provider,
    type,
    event_id: id,
    resource,
    status: "received",
    seq: m.seq,
  };
}

function stopSignal(ctx: CommandContext): AbortSignal {
  if (ctx.signal) return ctx.signal;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

export const tail: Command = {
  name: "tail",
  usage: USAGE,
  async run(args, ctx) {
    const { values, positionals } = parseOptions(
      args,
      {
        type: { type: "string" },
        provider: { type: "string" },
        last: { type: "string" },
        json: { type: "boolean" },
      },
      USAGE,
    );
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n${USAGE}`, 2);
    const last = values.last === undefined ? 10 : Number(values.last);
    if (!Number.isInteger(last) || last < 0 || last > 1_000)
      throw new CliError("--last must be an integer from 0 to 1000", 2);
    for (const [name, value] of [
      ["provider", values.provider],
      ["type", values.type],
    ] as const) {
      if (value !== undefined && !/^[A-Za-z0-9_*>-]+(\.[A-Za-z0-9_*>-]+)*$/.test(value))
        throw new CliError(
          `--${name} "${value}" is not a subject token (letters, digits, _ and -, dots between)`,
          2,
        );
    }
    const topology = makeTopology(ctx.env.HOOKSTREAM_NAMESPACE?.trim() ?? "");
    const servers = (ctx.env.NATS_URL?.trim() || "nats://127.0.0.1:4222").split(/[\s,]+/);
    let nc: NatsConnection;
    try {
      nc = await connect({
        ...natsConnectionOptions({ servers, name: "hookstream-tail", ...natsSecurityFromEnv(ctx.env) }),
        timeout: 5_000,
        maxReconnectAttempts: -1,
      });
    } catch (err) {
      throw new CliError(
        `cannot reach NATS at ${servers.join(", ")} (${(err as Error).message}); is it running? (NATS_URL)`,
      );
    }
    const signal = stopSignal(ctx);
    try {
      return await follow(nc, topology, values, last, ctx, signal);
    } finally {
      await nc.close().catch(() => undefined);
    }
  },
};

async function follow(
  nc: NatsConnection,
  topology: Topology,
  values: { type?: string; provider?: string; json?: boolean },
  last: number,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = topology.streams.webhooks;
  let lastSeq: number;
  try {
    lastSeq = (await jsm.streams.info(stream)).state.last_seq;
  } catch (err) {
    throw new CliError(
      `no stream ${stream} on this NATS (${(err as Error).message}): start the services first (npm start)`,
    );
  }
  const filtered = Boolean(values.type || values.provider);
  const startSeq = Math.max(1, lastSeq - (filtered ? Math.max(last, HISTORY_SCAN) : last) + 1);
  const consumer = await js.consumers.get(stream, {
    filter_subjects: tailSubject(topology, values.provider, values.type),
    ...(last === 0 || lastSeq === 0
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
  });
  const outcomes = await js.consumers.get(topology.streams.outcomes, {
    filter_subjects: `${topology.subjects.outcomesPrefix}.>`,
    deliver_policy: DeliverPolicy.New,
  });

  const print = (l: TailLine) => ctx.out.write(values.json ? `${JSON.stringify(l)}\n` : textLine(l));
  if (!values.json) ctx.out.write(row(COLUMNS));
  // events shown so far, so that only their outcomes are shown (bounded: the oldest go first)
  const shown = new Map<string, TailLine>();
  const remember = (l: TailLine) => {
    shown.set(l.event_id, l);
    if (shown.size > 10_000) shown.delete(shown.keys().next().value as string);
  };
  // the history: the last N matching messages up to the stream's end when the tail began
  let history: TailLine[] | null = last === 0 || lastSeq === 0 ? null : [];
  const flushHistory = () => {
    if (history === null) return;
    for (const l of history.slice(-last)) {
      remember(l);
      print(l);
    }
    history = null;
  };
  if (history !== null && (await consumer.info()).num_pending === 0) flushHistory();

  const events = await consumer.consume({ max_messages: 256 });
  const results = await outcomes.consume({ max_messages: 256 });
  const stop = () => {
    events.stop();
    results.stop();
  };
  if (signal.aborted) stop();
  signal.addEventListener("abort", stop, { once: true });

  const readEvents = (async () => {
    for await (const m of events) {
      const line = eventLine(m, topology);
      if (history !== null && m.seq <= lastSeq) {
        history.push(line);
        if (history.length > last) history.shift();
        if (m.info.pending === 0 || m.seq === lastSeq) flushHistory();
        continue;
      }
      flushHistory();
      remember(line);
      print(line);
    }
  })();
  const readOutcomes = (async () => {
    for await (const m of results) {
      let parsed: ReturnType<typeof Outcome.safeParse>;
      try {
        parsed = Outcome.safeParse(m.json());
      } catch {
        continue;
      }
      if (!parsed.success) continue;
      const event = shown.get(parsed.data.event_id);
      if (!event) continue;
      print({
        ...event,
        time: parsed.data.at,
        status: parsed.data.status,
        handler: parsed.data.handler,
        seq: event.seq,
      });
    }
  })();
  await Promise.all([readEvents, readOutcomes]);
  return 0;
}
