import { hostname } from "node:os";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { ConflictError } from "../admin/adminErrors";

/** Who holds a handler's bulk-replay lock: what a refused request is told. */
export interface ReplayLockHolder {
  /** the admin instance: host name and process id */
  instance: string;
  /** the label of the admin token that started the run */
  actor: string;
  started_at: string;
}

/** Another bulk replay to the handler runs (on this instance or another): 409. */
export class ReplayRunningError extends ConflictError {
  constructor(handler: string, holder: Partial<ReplayLockHolder> | null) {
    const who = holder
      ? ` (started ${holder.started_at ?? "?"} by ${holder.actor ?? "?"} on ${holder.instance ?? "?"})`
      : "";
    super(
      `a bulk replay to ${handler} is already running${who}; one runs per handler at a time across every admin instance: wait for it to end, or stop it`,
      "replay_running",
    );
  }
}

/** A handler's lock while this instance's bulk replay to it runs. */
export interface ReplayLock {
  /** aborted when the lock is lost (not renewed within its time to live): the run must stop */
  signal: AbortSignal;
  /** lets go of the lock (once the run ended); a lock lost meanwhile is left to whoever has it */
  release(): Promise<void>;
}

/** This process, as a lock names it. */
export function instanceName(): string {
  return `${hostname()}:${process.pid}`;
}

const isWrongLastSequence = (err: unknown) =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
    err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * One bulk replay per handler at a time across every admin instance: a key per handler
 * in the REPLAY_LOCKS bucket, taken with compare-and-set (`create` succeeds only when
 * the key has no live value) and renewed every third of the bucket's max age. The max
 * age is what ends the lock of an instance killed mid-run (nats-server 2.9 has no
 * per-message TTL, so the bucket's is the lock's): its key is gone at most one max age
 * after its last renewal. A renewal refused (someone else holds it now) or late past the
 * max age aborts the run.
 */
export class ReplayLocks {
  constructor(
    private readonly kv: KV,
    /** the bucket's max age: how long a lock outlives its last renewal */
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ttlMs > 0)) {
      throw new Error(
        "the REPLAY_LOCKS bucket has no max age, so a dead instance's lock would never end: run the provisioning step (hookstream provision)",
      );
    }
  }

  /** The locks of a bucket, its max age read from the bucket itself. */
  static async open(kv: KV): Promise<ReplayLocks> {
    return new ReplayLocks(kv, (await kv.status()).ttl);
  }

  /** Takes the handler's lock, or throws ReplayRunningError naming who has it. */
  async acquire(handler: string, holder: ReplayLockHolder): Promise<ReplayLock> {
    const value = JSON.stringify(holder);
    let revision: number;
    try {
      revision = await this.kv.create(handler, value);
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      const held = await this.kv.get(handler);
      let who: Partial<ReplayLockHolder> | null = null;
      try {
        who = held?.operation === "PUT" ? (held.json() as Partial<ReplayLockHolder>) : null;
      } catch {
        // a value that is not ours to read: the lock is held all the same
      }
      throw new ReplayRunningError(handler, who);
    }

    const lost = new AbortController();
    let renewedAt = this.now();
    let renewing: Promise<void> = Promise.resolve();
    const renew = async () => {
      try {
        revision = await this.kv.update(handler, value, revision);
        renewedAt = this.now();
      } catch (err) {
        // taken by another run after ours expired, or past the max age without a renewal
        if (isWrongLastSequence(err) || this.now() - renewedAt >= this.ttlMs) lost.abort(err);
      }
    };
    const timer = setInterval(
      () => {
        renewing = renewing.then(renew);
      },
      Math.max(250, Math.floor(this.ttlMs / 3)),
    );
    timer.unref();
    return {
      signal: lost.signal,
      release: async () => {
        clearInterval(timer);
        await renewing;
        if (lost.signal.aborted) return;
        await this.kv.delete(handler, { previousSeq: revision }).catch(() => undefined);
      },
    };
  }
}
