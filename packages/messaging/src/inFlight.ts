/**
 * Work a consumer started and has not finished, at most `limit` at once. `add` tracks
 * one more and answers when there is room for the next: at once (undefined) while under
 * the limit, else a promise that resolves as soon as one finishes.
 *
 * Not `Promise.race` over the set: a race adds a reaction to every promise still
 * pending each time it is called, so at the limit every message added `limit` reactions
 * that lived as long as the work did (bench group `delivery`: the delivery service kept
 * 256 in flight, and its garbage collection cost more than its requests' parsing).
 */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.pending.size;
  }

  add(work: Promise<unknown>): Promise<void> | undefined {
    this.pending.add(work);
    const finished = () => {
      this.pending.delete(work);
      if (this.pending.size < this.limit) this.waiting.shift()?.();
    };
    work.then(finished, finished);
    if (this.pending.size < this.limit) return undefined;
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once everything added so far has finished, however it ended. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
