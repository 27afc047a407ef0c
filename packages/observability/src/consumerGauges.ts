import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import { Gauge, type Registry } from "prom-client";

export interface DurableRef {
  stream: string;
  durable: string;
}

export interface ConsumerGaugesOptions {
  jsm: JetStreamManager;
  durables: DurableRef[];
  /** a scrape never waits longer than this for consumer info (default 2 s) */
  timeoutMs?: number;
}

/** Rejects after `ms`; the timer never keeps the process alive. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const registered = new WeakMap<Registry, DurableRef[]>();

/** When the durable's ack floor last moved (the server sends an ISO time; its typings say nanos). */
function ackFloorMovedAtMs(info: ConsumerInfo): number {
  const last = info.ack_floor.last_active as unknown;
  const at = typeof last === "string" ? Date.parse(last) : Number.NaN;
  return Number.isFinite(at) ? at : Date.parse(info.created);
}

/**
 * Seconds since the ack floor last moved while messages wait (0 when none wait): how
 * long the oldest unfinished message of the durable has at least been waiting, roughly.
 */
export function ackFloorAgeSeconds(info: ConsumerInfo, nowMs: number): number {
  if (info.num_pending + info.num_ack_pending === 0) return 0;
  const at = ackFloorMovedAtMs(info);
  return Number.isFinite(at) ? Math.max(0, (nowMs - at) / 1000) : 0;
}

/**
 * `hookstream_consumer_pending{stream,durable}` (messages not yet delivered) and
 * `hookstream_consumer_ack_pending{stream,durable}` (delivered, not yet acked), read
 * from consumer info when Prometheus scrapes (docs/architecture.md, "Promises": observable).
 * `hookstream_consumer_ack_floor_age_seconds{stream,durable}` tells how long work has
 * waited without the ack floor moving (the "lag older than N minutes" alert).
 * The gauges share one read per scrape. A durable whose info cannot be read in time
 * has no series in that scrape (rather than a stale number), and /metrics still answers.
 */
export function registerConsumerGauges(registry: Registry, opts: ConsumerGaugesOptions): void {
  // a second call on the same registry (the runtime and a service's own metrics) adds its durables
  const existing = registered.get(registry);
  if (existing) {
    for (const d of opts.durables) {
      if (!existing.some((e) => e.stream === d.stream && e.durable === d.durable)) existing.push(d);
    }
    return;
  }
  const durables = [...opts.durables];
  registered.set(registry, durables);
  opts = { ...opts, durables };
  const timeoutMs = opts.timeoutMs ?? 2_000;
  // both collect() calls of one scrape run concurrently: the first starts the read, the second joins it
  let read: Promise<Array<ConsumerInfo | null>> | null = null;
  const readAll = () => {
    read ??= Promise.all(
      opts.durables.map((d) =>
        within(opts.jsm.consumers.info(d.stream, d.durable), timeoutMs, `consumer ${d.durable}`).catch(
          () => null,
        ),
      ),
    ).finally(() => {
      // a later scrape reads afresh
      setTimeout(() => {
        read = null;
      }, 250).unref?.();
    });
    return read;
  };
  const fill = async (gauge: Gauge<"stream" | "durable">, pick: (i: ConsumerInfo) => number) => {
    const infos = await readAll();
    opts.durables.forEach((d, i) => {
      const info = infos[i];
      const labels = { stream: d.stream, durable: d.durable };
      if (info) gauge.set(labels, pick(info));
      else gauge.remove(labels);
    });
  };
  new Gauge({
    name: "hookstream_consumer_pending",
    help: "messages in the stream not yet delivered to the durable consumer (num_pending)",
    labelNames: ["stream", "durable"] as const,
    registers: [registry],
    async collect() {
      await fill(this, (i) => i.num_pending);
    },
  });
  new Gauge({
    name: "hookstream_consumer_ack_pending",
    help: "messages delivered to the durable consumer and not yet acknowledged (num_ack_pending)",
    labelNames: ["stream", "durable"] as const,
    registers: [registry],
    async collect() {
      await fill(this, (i) => i.num_ack_pending);
    },
  });
  new Gauge({
    name: "hookstream_consumer_ack_floor_age_seconds",
    help: "seconds since the durable's ack floor last moved while messages wait (0 when none wait)",
    labelNames: ["stream", "durable"] as const,
    registers: [registry],
    async collect() {
      const now = Date.now();
      await fill(this, (i) => ackFloorAgeSeconds(i, now));
    },
  });
}

export interface DlqGaugeOptions {
  jsm: JetStreamManager;
  /** the DLQ stream (`WEBHOOK_DLQ`, or `<ns>_WEBHOOK_DLQ`) */
  stream: string;
  /** `dlq` (or `<ns>.dlq`): subjects are `<prefix>.<handler>.<type>` */
  subjectPrefix: string;
  /** handlers shown with 0 before their first dead letter (so `increase()` sees the first one) */
  handlers?: string[];
  timeoutMs?: number;
}

/**
 * `hookstream_dlq_messages{handler}`: messages in the DLQ stream per handler, from the
 * stream's per-subject counts (`subjects_filter`), summed over event types. A failed
 * read leaves no series for that scrape.
 */
export function registerDlqGauge(registry: Registry, opts: DlqGaugeOptions): void {
  if (registry.getSingleMetric("hookstream_dlq_messages")) return;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const prefix = `${opts.subjectPrefix}.`;
  // a handler whose dead letters were all redriven reads 0, not a vanished series
  const known = new Set(opts.handlers ?? []);
  new Gauge({
    name: "hookstream_dlq_messages",
    help: "dead letters in the DLQ stream, by handler",
    labelNames: ["handler"] as const,
    registers: [registry],
    async collect() {
      let subjects: Record<string, number>;
      try {
        const info = await within(
          opts.jsm.streams.info(opts.stream, { subjects_filter: `${prefix}>` }),
          timeoutMs,
          `stream ${opts.stream}`,
        );
        subjects = info.state.subjects ?? {};
      } catch {
        this.reset();
        return;
      }
      const byHandler = new Map<string, number>();
      for (const [subject, n] of Object.entries(subjects)) {
        if (!subject.startsWith(prefix)) continue;
        const handler = subject.slice(prefix.length).split(".")[0] ?? "";
        byHandler.set(handler, (byHandler.get(handler) ?? 0) + n);
      }
      for (const handler of byHandler.keys()) known.add(handler);
      this.reset();
      for (const handler of known) this.set({ handler }, byHandler.get(handler) ?? 0);
    },
  });
}
