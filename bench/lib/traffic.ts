/**
 * Signed webhooks at a fixed rate, as OpenAI sends them: event i leaves at
 * start + i / rate whatever the answers take (open loop), every event a new id, the
 * types taken in turn from a list (every domain mixed). An event that gets no 200 (a
 * refused connection while the gateway restarts, a 503 while NATS is away) is sent
 * again as OpenAI retries it: same id and body, a new timestamp and signature, after a
 * growing pause. What each event went through is kept in typed arrays, by index, so an
 * hour of it fits in a few tens of MiB.
 *
 * At most MAX_IN_FLIGHT requests are open at once; an event due while the window is
 * full waits in a local queue and is signed when it actually leaves. Signing at
 * schedule time and letting the HTTP agent queue the request would, once the gateway
 * falls behind, send signatures older than the gateway's timestamp tolerance: 401s a
 * real sender never causes, which then fill the failed-signature limiter.
 */
import http from "node:http";
import { eventBody, signWebhook, TEST_SECRET } from "@hookstream/testing";

export interface TrafficOptions {
  url: string;
  rate: number;
  durationMs: number;
  /** event types, taken in turn */
  types: readonly string[];
  /** distinguishes this run's ids from any other's */
  tag: string;
  /** how long after the last scheduled send a refused event is still sent again (-1: never sent again) */
  retryForMs?: number;
  /** fine-tuning events are spread over this many jobs, so the projection folds several events per job */
  jobs?: number;
  /** on each 200: the event's index and when it came (epoch ms) */
  onAccepted?: (i: number, at: number) => void;
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 4_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** open requests at most: the agent's sockets, so no request ever waits inside the agent */
const MAX_IN_FLIGHT = 256;

export class Traffic {
  readonly count: number;
  /** when the event first left (epoch ms; NaN: not yet) */
  readonly sentAt: Float64Array;
  /** when its 200 came (epoch ms; NaN: none) */
  readonly acceptedAt: Float64Array;
  readonly attempts: Uint16Array;
  /** answers other than 200 that a retry would not change (4xx but 429): a bug, counted */
  refused = 0;
  /** answers that were retried: status (0 = no HTTP answer) → count */
  readonly retried = new Map<number, number>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  /** events due (or due again) while MAX_IN_FLIGHT were open: [index, retryUntil], oldest first */
  private readonly queued: Array<[number, number]> = [];
  /** the most events that waited in the queue at once */
  maxQueued = 0;
  private readonly target: URL;
  private pendingRetries = 0;
  private inFlight = 0;

  constructor(private readonly opts: TrafficOptions) {
    this.count = Math.floor((opts.rate * opts.durationMs) / 1000);
    this.sentAt = new Float64Array(this.count).fill(Number.NaN);
    this.acceptedAt = new Float64Array(this.count).fill(Number.NaN);
    this.attempts = new Uint16Array(this.count);
    this.target = new URL(opts.url);
  }

  idOf(i: number): string {
    return `evt_${this.opts.tag}_${i}`;
  }

  /** the index of one of this run's ids, else -1 */
  indexOf(id: string): number {
    const prefix = `evt_${this.opts.tag}_`;
    if (!id.startsWith(prefix)) return -1;
    const i = Number(id.slice(prefix.length));
    return Number.isInteger(i) && i >= 0 && i < this.count ? i : -1;
  }

  typeOf(i: number): string {
    return this.opts.types[i % this.opts.types.length] as string;
  }

  /** the event's body: the same bytes on every attempt */
  bodyOf(i: number): string {
    const type = this.typeOf(i);
    const domain = type.split(".")[0];
    const tag = this.opts.tag;
    const data =
      domain === "fine_tuning"
        ? { id: `ftjob-${tag}-${i % (this.opts.jobs ?? 100)}`, object: "fine_tuning.job" }
        : domain === "batch"
          ? { id: `batch_${tag}_${i}`, object: "batch" }
          : domain === "response"
            ? { id: `resp_${tag}_${i}`, object: "response" }
            : { id: `${domain}_${tag}_${i}` };
    // created_at from the schedule: the same body whenever it is sent again
    return eventBody(type, { id: this.idOf(i), data, createdAt: 1_750_000_000 + Math.floor(i / 100) });
  }

  /**
   * Sends every event on schedule; resolves once each has its 200 or its retries ran
   * out (retryForMs after the last scheduled send). `shouldStop` ends the schedule early.
   */
  async run(shouldStop: () => boolean = () => false): Promise<void> {
    const start = performance.now();
    const epoch0 = Date.now() - start;
    let i = 0;
    for (; i < this.count && !shouldStop(); i++) {
      const due = start + (i * 1000) / this.opts.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      this.sentAt[i] = epoch0 + performance.now();
      this.send(i, epoch0 + start + this.opts.durationMs + (this.opts.retryForMs ?? 60_000));
    }
    while (this.inFlight > 0 || this.pendingRetries > 0 || this.queued.length > 0)
      await new Promise((r) => setTimeout(r, 50));
    this.agent.destroy();
  }

  /** events scheduled so far */
  get scheduled(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (!Number.isNaN(this.sentAt[i] as number)) n++;
    return n;
  }

  private send(i: number, retryUntil: number): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.queued.push([i, retryUntil]);
      this.maxQueued = Math.max(this.maxQueued, this.queued.length);
      return;
    }
    this.dispatch(i, retryUntil);
  }

  /** one request, signed now */
  private dispatch(i: number, retryUntil: number): void {
    const body = this.bodyOf(i);
    const attempt = this.attempts[i] as number;
    // the first attempt with the event's own webhook-id; a retry keeps it, as OpenAI does
    const { headers } = signWebhook(TEST_SECRET, body, { webhookId: `wh_${this.idOf(i)}` });
    this.attempts[i] = attempt + 1;
    this.inFlight++;
    let settled = false;
    const done = (status: number) => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      const next = this.queued.shift();
      if (next) this.dispatch(next[0], next[1]);
      if (status === 200) {
        const at = Date.now();
        this.acceptedAt[i] = at;
        this.opts.onAccepted?.(i, at);
        return;
      }
      if (status >= 400 && status < 500 && status !== 429) {
        this.refused++;
        return;
      }
      this.retried.set(status, (this.retried.get(status) ?? 0) + 1);
      if (this.opts.retryForMs === -1) return;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10));
      if (Date.now() + delay > retryUntil) return;
      this.pendingRetries++;
      setTimeout(() => {
        this.pendingRetries--;
        this.send(i, retryUntil);
      }, delay);
    };
    const req = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        path: this.target.pathname,
        method: "POST",
        agent: this.agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
        res.on("error", () => done(0));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => done(0));
    req.end(body);
  }
}
