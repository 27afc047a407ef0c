import { Counter, Gauge, Histogram, type Registry } from "@hookstream/observability";

export const DELIVERY_ATTEMPT_OUTCOMES = ["delivered", "failed", "dead"] as const;
export type AttemptOutcome = (typeof DELIVERY_ATTEMPT_OUTCOMES)[number];
const STATES = ["active", "open", "paused"] as const;

/**
 * Per destination: `hookstream_delivery_attempts_total{destination,outcome}`
 * (delivered, failed, dead), `hookstream_delivery_seconds{destination}` (one attempt's
 * latency), `hookstream_destination_state{destination,state}` (1 for its current state:
 * active, open, paused) and `hookstream_destination_pending{destination}` (events not
 * yet delivered: read from its durables when Prometheus scrapes).
 */
export function deliveryMetrics(
  registry: Registry,
  opts: {
    destinations: string[];
    stateOf: (name: string) => (typeof STATES)[number];
    pendingOf: (name: string) => Promise<number | null>;
  },
) {
  const attempts = new Counter({
    name: "hookstream_delivery_attempts_total",
    help: "outbound attempts per destination, by outcome (delivered; failed and retried; dead: the retry policy exhausted)",
    labelNames: ["destination", "outcome"] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "hookstream_delivery_seconds",
    help: "latency of one outbound attempt, per destination",
    labelNames: ["destination"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: "hookstream_destination_state",
    help: "1 for the destination's current state (active, open: its breaker is open, paused: by an operator)",
    labelNames: ["destination", "state"] as const,
    registers: [registry],
    collect() {
      for (const d of opts.destinations) {
        const current = opts.stateOf(d);
        for (const s of STATES) this.set({ destination: d, state: s }, s === current ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "hookstream_destination_pending",
    help: "events of the destination not yet delivered (waiting in the stream, or delivered to an instance and not settled)",
    labelNames: ["destination"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const values = await Promise.all(opts.destinations.map((d) => opts.pendingOf(d)));
      opts.destinations.forEach((d, i) => {
        const v = values[i];
        if (v !== null && v !== undefined) this.set({ destination: d }, v);
      });
    },
  });
  for (const d of opts.destinations) {
    for (const o of DELIVERY_ATTEMPT_OUTCOMES) attempts.inc({ destination: d, outcome: o }, 0);
  }
  // each destination's series bound once: no label lookup on every attempt
  const counterOf = new Map<string, { inc(): void }>();
  const histogramOf = new Map<string, { observe(v: number): void }>();
  return {
    attempt(destination: string, outcome: AttemptOutcome, latencyMs: number | null) {
      const key = `${destination}\n${outcome}`;
      let counter = counterOf.get(key);
      if (!counter) {
        counter = attempts.labels({ destination, outcome });
        counterOf.set(key, counter);
      }
      counter.inc();
      if (latencyMs === null) return;
      let histogram = histogramOf.get(destination);
      if (!histogram) {
        histogram = seconds.labels({ destination });
        histogramOf.set(destination, histogram);
      }
      histogram.observe(latencyMs / 1000);
    },
  };
}
export type DeliveryMetrics = ReturnType<typeof deliveryMetrics>;

/** The last attempts of one destination on this instance: success rate, p99, last error. */
export class RecentAttempts {
  private readonly ok: boolean[] = [];
  private readonly latencies: number[] = [];
  lastError: string | null = null;
  lastErrorAt: number | null = null;

  constructor(private readonly size = 500) {}

  add(ok: boolean, latencyMs: number, error: string | null, atMs: number): void {
    this.ok.push(ok);
    this.latencies.push(latencyMs);
    if (this.ok.length > this.size) {
      this.ok.shift();
      this.latencies.shift();
    }
    if (error !== null) {
      this.lastError = error;
      this.lastErrorAt = atMs;
    }
  }

  successRate(): number | null {
    return this.ok.length === 0 ? null : this.ok.filter(Boolean).length / this.ok.length;
  }

  p99(): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? null;
  }
}
