/** At most `size` holders at once; the rest wait in order. */
export class Semaphore {
  private held = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly size: number) {}

  async acquire(): Promise<void> {
    if (this.held < this.size) {
      this.held++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.held--;
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
