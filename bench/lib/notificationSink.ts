/**
 * The receiver behind NOTIFY_URLS for long runs: it answers 200 at once and keeps, per
 * notified event, only when each copy arrived — not the requests (an hour at 200
 * events/s would be gigabytes of headers). The event is the body's `event_id`, which
 * every handler's notification carries whether a handler POSTs it or the delivery
 * service does.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class NotificationSink {
  /** event id → arrival times (epoch ms) of each copy */
  readonly arrivals = new Map<string, number[]>();
  /** bodies that named no event id */
  unreadable = 0;
  private listener: ((eventId: string, at: number) => void) | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<NotificationSink> {
    let sink: NotificationSink | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        sink?.receive(Buffer.concat(chunks));
        res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    sink = new NotificationSink(server, (server.address() as AddressInfo).port);
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/notify`;
  }

  /** called on each arrival (the first and any repeat) */
  onArrival(fn: (eventId: string, at: number) => void): void {
    this.listener = fn;
  }

  private receive(raw: Buffer): void {
    const at = Date.now();
    let id: unknown;
    try {
      id = (JSON.parse(raw.toString("utf8")) as { event_id?: unknown }).event_id;
    } catch {
      id = undefined;
    }
    if (typeof id !== "string") {
      this.unreadable++;
      return;
    }
    const times = this.arrivals.get(id);
    if (times) times.push(at);
    else this.arrivals.set(id, [at]);
    this.listener?.(id, at);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
