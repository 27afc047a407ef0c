import { eventRowOf, failedAttempts, headerRecord, STATUS_RANK } from "@hookstream/audit-store";
import { type EventSummary, Outcome, type Topology } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import { type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { SUMMARY_COLUMNS, type SummaryRow, summaryOf } from "./eventSummary";

/** What a watched event is waiting for before its row is final for now. */
interface Watch {
  /** the row must exist with its message (subject not null) */
  needsMessage: boolean;
  /** the fold must have reached at least this rank and retry count */
  rank: number;
  retries: number;
  /** give up after this time (the row may be filtered out, or the audit behind) */
  untilMs: number;
  /** updated_at of the row last pushed, so an unchanged row is not pushed twice */
  lastPushed: string | null;
}

export interface LiveFeedOptions {
  js: JetStreamClient;
  em: EntityManager;
  topology: Topology;
  logger: Logger;
  now?: () => number;
  /** how often rows of watched events are read (ms) */
  tickMs?: number;
  /** how long an event is watched after its last message (ms) */
  watchMs?: number;
  /** most events watched at once; beyond it new ones are dropped from the feed */
  maxWatched?: number;
}

export type LiveListener = (rows: EventSummary[]) => void;

/**
 * The source of the console's live events, one per admin instance.
 *
 * Why not the audit's own consumers: every instance binds to the same durables
 * (`audit`, `audit-outcomes`), so each sees only its share of the messages, and a
 * browser connected to one instance behind a load balancer would miss the rest.
 * Instead, while at least one browser listens, this instance reads WEBHOOKS and
 * WEBHOOK_OUTCOMES with ordered consumers of its own (ephemeral, unacked, from
 * "new"): every instance sees every message. A message only says which event
 * changed; the row pushed is read from `webhook_events` (by event id, the unique
 * index), so the feed shows exactly what a reload would show. Whichever instance
 * writes the row, the watch ends once the row reflects the message (the row is
 * there; the status fold reached the outcome), or after `watchMs`.
 * Not chosen: a core NATS subject published after commit (needs the write path to
 * publish, and is lost while an instance reconnects) and a poll by updated_at (its
 * look-back must cover commit lag and clock skew, re-reading many rows under load).
 */
export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  private readonly watched = new Map<string, Watch>();
  private iters: ConsumerMessages[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private ticking = false;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly watchMs: number;
  private readonly maxWatched: number;

  constructor(private readonly opts: LiveFeedOptions) {
    this.now = opts.now ?? Date.now;
    this.tickMs = opts.tickMs ?? 150;
    this.watchMs = opts.watchMs ?? 15_000;
    this.maxWatched = opts.maxWatched ?? 5_000;
  }

  /** adds a listener; the consumers run while there is at least one. Returns the unsubscribe. */
  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private start(): void {
    const { topology } = this.opts;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.running = Promise.all([
      this.follow(topology.streams.webhooks, topology.subjects.webhooksAll, (m) => this.onEventMessage(m)),
      this.follow(topology.streams.outcomes, `${topology.subjects.outcomesPrefix}.>`, (m) =>
        this.onOutcomeMessage(m),
      ),
    ]).then(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const it of this.iters) it.stop();
    this.iters = [];
    await this.running;
    this.running = null;
    this.watched.clear();
  }

  /** stops the consumers and forgets every listener (app close) */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.stop();
  }

  private async follow(stream: string, subject: string, onMsg: (m: JsMsg) => void): Promise<void> {
    try {
      const consumer = await this.opts.js.consumers.get(stream, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.New,
      });
      const iter = await consumer.consume({ max_messages: 1_000 });
      if (this.timer === null) {
        iter.stop();
        return;
      }
      this.iters.push(iter);
      for await (const m of iter) onMsg(m);
    } catch (err) {
      this.opts.logger.warn({ err, stream }, "live feed: cannot follow the stream; live updates stop");
    }
  }

  private watch(eventId: string, need: Partial<Pick<Watch, "needsMessage" | "rank" | "retries">>): void {
    const w = this.watched.get(eventId);
    if (!w && this.watched.size >= this.maxWatched) return;
    const untilMs = this.now() + this.watchMs;
    this.watched.set(eventId, {
      needsMessage: (w?.needsMessage ?? false) || (need.needsMessage ?? false),
      rank: Math.max(w?.rank ?? 0, need.rank ?? 0),
      retries: Math.max(w?.retries ?? 0, need.retries ?? 0),
      untilMs,
      lastPushed: w?.lastPushed ?? null,
    });
  }

  private onEventMessage(m: JsMsg): void {
    // the same id rule as the audit's insert, so the row is found under the id it was written with
    const row = eventRowOf(
      { subject: m.subject, seq: m.seq, headers: headerRecord(m.headers), data: m.data },
      this.opts.topology,
      new Date(0),
    );
    this.watch(row.eventId, { needsMessage: true });
  }

  private onOutcomeMessage(m: JsMsg): void {
    let parsed: ReturnType<typeof Outcome.safeParse>;
    try {
      parsed = Outcome.safeParse(m.json());
    } catch {
      return;
    }
    if (!parsed.success) return;
    const o = parsed.data;
    this.watch(o.event_id, { rank: STATUS_RANK[o.status], retries: failedAttempts(o.status, o.attempt) });
  }

  /** reads the watched rows, pushes those that changed, ends the watches that are done */
  private async tick(): Promise<void> {
    if (this.ticking || this.watched.size === 0) return;
    this.ticking = true;
    try {
      const ids = [...this.watched.keys()];
      const rows = await this.opts.em
        .fork()
        .getConnection()
        .execute<SummaryRow[]>(
          `SELECT ${SUMMARY_COLUMNS} FROM webhook_events WHERE event_id IN (${ids.map(() => "?").join(", ")})`,
          ids,
        );
      const pushed: EventSummary[] = [];
      const nowMs = this.now();
      for (const r of rows) {
        const w = this.watched.get(r.event_id);
        if (!w) continue;
        const e = summaryOf(r);
        if (e.updated_at !== w.lastPushed) {
          w.lastPushed = e.updated_at;
          pushed.push(e);
        }
        const done =
          (!w.needsMessage || r.subject !== null) &&
          STATUS_RANK[e.status] >= w.rank &&
          e.retry_count >= w.retries;
        if (done) this.watched.delete(r.event_id);
      }
      for (const [id, w] of this.watched) if (w.untilMs < nowMs) this.watched.delete(id);
      if (pushed.length > 0) {
        // oldest first, so a listener that prepends ends with the newest on top
        pushed.sort((a, b) => a.created_at.localeCompare(b.created_at));
        for (const l of this.listeners) l(pushed);
      }
    } catch (err) {
      this.opts.logger.warn({ err }, "live feed: cannot read rows; retrying");
    } finally {
      this.ticking = false;
    }
  }
}
