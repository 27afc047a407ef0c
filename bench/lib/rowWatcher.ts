/**
 * 200 → audit row: from the moment the sender saw an event's 200 to the first poll
 * that finds its row in webhook_events. A poller asks for the rows of the watched
 * events not seen yet (an index lookup on a few ids), again as soon as the last
 * answer came and at least every `intervalMs`: each latency is an upper bound, the
 * poll's own time included. While the audit is down the list grows; the poll then
 * takes longer and the loop slows with it, never piling queries up.
 */
import pg from "pg";

export class RowWatcher {
  /** when the row was first seen (epoch ms; NaN: not seen or not watched) */
  readonly seenAt: Float64Array;
  private readonly outstanding = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly client: pg.Client;

  constructor(
    databaseUrl: string,
    count: number,
    private readonly indexOf: (id: string) => number,
    private readonly intervalMs = 5,
  ) {
    this.seenAt = new Float64Array(count).fill(Number.NaN);
    this.client = new pg.Client({ connectionString: databaseUrl });
    // the database is dropped WITH (FORCE) at the end: a lost connection then is expected
    this.client.on("error", () => undefined);
  }

  /** the Postgres backend that answers the watcher's polls: the harness's, not the system's, CPU */
  backendPid: number | null = null;

  async start(): Promise<void> {
    await this.client.connect();
    const { rows } = await this.client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    this.backendPid = rows[0]?.pid ?? null;
    this.running = true;
    this.loop = this.poll();
  }

  /** watch event `id` (index i) from now */
  watch(id: string): void {
    this.outstanding.set(id, Date.now());
  }

  get waiting(): number {
    return this.outstanding.size;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      const began = Date.now();
      if (this.outstanding.size > 0) {
        try {
          const { rows } = await this.client.query<{ event_id: string }>(
            "SELECT event_id FROM webhook_events WHERE event_id = ANY($1::text[])",
            [[...this.outstanding.keys()]],
          );
          const at = Date.now();
          for (const r of rows) {
            const i = this.indexOf(r.event_id);
            if (i >= 0 && Number.isNaN(this.seenAt[i] as number)) this.seenAt[i] = at;
            this.outstanding.delete(r.event_id);
          }
        } catch {
          // the table is not there yet (first start) or the connection blinked: ask again
        }
      }
      const wait = this.intervalMs - (Date.now() - began);
      await new Promise((r) => setTimeout(r, Math.max(1, wait)));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.client.end().catch(() => undefined);
  }
}
