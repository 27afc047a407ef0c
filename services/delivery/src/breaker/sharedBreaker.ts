import { type KV, KvWatchInclude } from "@nats-io/kv";
import type { Logger } from "pino";
import {
  type Admission,
  admit,
  type BreakerPolicy,
  CLOSED,
  type DestinationStateValue,
  onFailure,
  onSuccess,
  pause,
  resume,
} from "./breakerState";

interface Cached {
  value: DestinationStateValue;
  /** the KV revision the value was read at; 0 when the key does not exist yet */
  revision: number;
}

export class StoppedError extends Error {
  override readonly name = "StoppedError";
}

const decoder = new TextDecoder();

function parse(bytes: Uint8Array): DestinationStateValue {
  try {
    return { ...CLOSED, ...(JSON.parse(decoder.decode(bytes)) as Partial<DestinationStateValue>) };
  } catch {
    return { ...CLOSED };
  }
}

/**
 * Each destination's breaker and pause, kept in the DELIVERY_STATE bucket (one key per
 * destination) and shared by every delivery instance: an instance started while a
 * breaker is open waits like the others; one probe at a time, claimed by
 * compare-and-set. Each instance watches the bucket, so a change made by another
 * (a pause, a probe's success) reaches it within a round trip.
 */
export class SharedBreaker {
  private readonly cache = new Map<string, Cached>();
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  private watcher: { stop(): void } | null = null;

  private constructor(
    private readonly kv: KV,
    private readonly policy: BreakerPolicy,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** how long a probe claim holds: the probe's timeout plus a margin */
    private readonly probeLeaseMs: (name: string) => number,
  ) {}

  static async start(opts: {
    kv: KV;
    names: string[];
    policy: BreakerPolicy;
    logger: Logger;
    now?: () => number;
    probeLeaseMs: (name: string) => number;
  }): Promise<SharedBreaker> {
    const b = new SharedBreaker(opts.kv, opts.policy, opts.logger, opts.now ?? Date.now, opts.probeLeaseMs);
    for (const name of opts.names) await b.reload(name);
    const iter = await opts.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    b.watcher = iter;
    void (async () => {
      for await (const e of iter) {
        const current = b.cache.get(e.key);
        if (current && current.revision >= e.revision) continue;
        b.cache.set(e.key, {
          value: e.operation === "PUT" ? parse(e.value) : { ...CLOSED },
          revision: e.revision,
        });
        b.wake();
      }
    })().catch((err) => b.logger.warn({ err }, "the destination state watch ended"));
    return b;
  }

  state(name: string): DestinationStateValue {
    return this.cache.get(name)?.value ?? { ...CLOSED };
  }

  /**
   * Resolves when an attempt may be sent: at once while closed; as the one probe once
   * the breaker's pause is over; never while paused by an operator (it waits for
   * resume). `working` is called while it waits, so the message's ack wait does not run out.
   */
  async admit(name: string, working: () => void): Promise<"go" | "probe"> {
    let lastWorking = this.now();
    for (;;) {
      if (this.stopped) throw new StoppedError("the delivery service is stopping");
      const cached = this.cache.get(name) ?? { value: { ...CLOSED }, revision: 0 };
      const a: Admission = admit(cached.value, this.now(), this.probeLeaseMs(name));
      if (a.kind === "go") return "go";
      if (a.kind === "probe") {
        if (await this.write(name, cached, a.next)) return "probe";
        continue;
      }
      if (this.now() - lastWorking > 5_000) {
        working();
        lastWorking = this.now();
      }
      const waitMs = a.untilMs === null ? 5_000 : Math.min(5_000, Math.max(5, a.untilMs - this.now()));
      await this.changeOr(waitMs);
    }
  }

  /** A failed attempt; true when it opened (or re-opened) the breaker. */
  async failure(name: string, error: string): Promise<boolean> {
    for (;;) {
      const cached = this.cache.get(name) ?? { value: { ...CLOSED }, revision: 0 };
      const { next, opened } = onFailure(cached.value, this.now(), this.policy, error);
      if (await this.write(name, cached, next)) {
        if (opened)
          this.logger.warn(
            {
              destination: name,
              failures: next.failures,
              retry_at: new Date(next.retryAt ?? 0).toISOString(),
            },
            "destination paused: its breaker opened; its events wait in the stream",
          );
        return opened;
      }
    }
  }

  /** A delivered attempt: closes an open breaker (no write when it was closed and clean). */
  async success(name: string): Promise<void> {
    for (;;) {
      const cached = this.cache.get(name) ?? { value: { ...CLOSED }, revision: 0 };
      const next = onSuccess(cached.value);
      if (next === null) return;
      if (await this.write(name, cached, next)) {
        if (cached.value.retryAt !== null)
          this.logger.info(
            { destination: name },
            "destination answers again: breaker closed, delivering in order",
          );
        return;
      }
    }
  }

  async pause(name: string, by: string, reason: string | null): Promise<DestinationStateValue> {
    return this.change(name, (s) => pause(s, by, this.now(), reason));
  }

  async resume(name: string): Promise<DestinationStateValue> {
    return this.change(name, resume);
  }

  private async change(
    name: string,
    step: (s: DestinationStateValue) => DestinationStateValue,
  ): Promise<DestinationStateValue> {
    for (;;) {
      await this.reload(name);
      const cached = this.cache.get(name) ?? { value: { ...CLOSED }, revision: 0 };
      const next = step(cached.value);
      if (await this.write(name, cached, next)) return next;
    }
  }

  /** Compare-and-set against the revision read; false (and the key read again) when another wrote first. */
  private async write(name: string, read: Cached, next: DestinationStateValue): Promise<boolean> {
    const data = JSON.stringify(next);
    try {
      const revision =
        read.revision === 0
          ? await this.kv.create(name, data)
          : await this.kv.update(name, data, read.revision);
      const current = this.cache.get(name);
      if (!current || current.revision < revision) this.cache.set(name, { value: next, revision });
      this.wake();
      return true;
    } catch (err) {
      this.logger.debug({ err, destination: name }, "destination state changed meanwhile; reading it again");
      await this.reload(name);
      return false;
    }
  }

  private async reload(name: string): Promise<void> {
    const e = await this.kv.get(name);
    const current = this.cache.get(name);
    const revision = e?.revision ?? 0;
    if (current && current.revision > revision) return;
    this.cache.set(name, {
      value: e && e.operation === "PUT" ? parse(e.value) : { ...CLOSED },
      revision: e && e.operation === "PUT" ? e.revision : 0,
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private changeOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
    this.wake();
  }
}
