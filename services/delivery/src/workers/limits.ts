/**
 * Runs at most `size` tasks at once; the others wait in arrival order as plain entries of
 * a queue, not each as an async call suspended on a lock with all its state (bench group
 * `delivery`: with 256 messages held and 32 requests in flight, that state outlived the
 * young generation's collections and was copied by each of them). `push` answers a promise
 * that settles as the task does; `run` should not throw.
 */
export class Gate<T> {
  private running = 0;
  private readonly queue: Array<{ item: T; done: () => void }> = [];

  constructor(
    private readonly size: number,
    private readonly run: (item: T) => Promise<void>,
  ) {}

  push(item: T): Promise<void> {
    return new Promise<void>((done) => {
      if (this.running < this.size) this.start(item, done);
      else this.queue.push({ item, done });
    });
  }

  private start(item: T, done: () => void): void {
    this.running++;
    const next = () => {
      this.running--;
      done();
      const waiting = this.queue.shift();
      if (waiting) this.start(waiting.item, waiting.done);
    };
    this.run(item).then(next, next);
  }
}

/**
 * A token bucket: `ratePerSec` requests a second on average, bursts up to one second's
 * worth. Per destination and per instance (docs/destinations.md says so).
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = Math.max(1, ratePerSec);
    this.last = this.now();
  }

  take(): Promise<void> {
    const turn = this.chain.then(() => this.next());
    this.chain = turn;
    return turn;
  }

  private async next(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(
        Math.max(1, this.ratePerSec),
        this.tokens + ((t - this.last) / 1000) * this.ratePerSec,
      );
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.ratePerSec) * 1000)));
    }
  }
}
