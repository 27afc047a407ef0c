import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedNotification {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  /** the body as received, byte for byte (to verify a signature over it) */
  raw: string;
  at: number;
}

/** How the receiver answers one request: a status (not 2xx: not recorded as received) and a delay. */
export interface Answer {
  status?: number;
  delayMs?: number;
}

/** A stand-in for an outbound notification target (Slack-like hook, deploy hook): records every POST. */
export class NotificationReceiver {
  readonly received: ReceivedNotification[] = [];
  /** every request, answered well or not: path and time */
  readonly requests: Array<{ path: string; at: number }> = [];
  private failures: number[] = [];
  private answer: ((path: string) => Answer | undefined) | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<NotificationReceiver> {
    let receiver: NotificationReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => receiver!.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    receiver = new NotificationReceiver(server, (server.address() as AddressInfo).port);
    return receiver;
  }

  url(path = "/notify"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** the next `count` POSTs are answered with `status` (and not recorded as received) */
  failNext(count: number, status: number): void {
    for (let i = 0; i < count; i++) this.failures.push(status);
  }

  /** answers each request as `fn` says (undefined: the usual 200); null: back to normal */
  answerWith(fn: ((path: string) => Answer | undefined) | null): void {
    this.answer = fn;
  }

  /** stops listening (connections refused) until up(): a receiver that is down */
  down(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  up(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
  }

  on(path: string): ReceivedNotification[] {
    return this.received.filter((r) => r.path === path);
  }

  private handle(req: IncomingMessage, raw: Buffer, res: import("node:http").ServerResponse): void {
    const path = (req.url ?? "").split("?")[0] ?? "";
    this.requests.push({ path, at: Date.now() });
    const answer = this.answer?.(path);
    if (answer?.delayMs) {
      setTimeout(() => this.respond(req, raw, res, answer.status), answer.delayMs);
      return;
    }
    this.respond(req, raw, res, answer?.status);
  }

  private respond(
    req: IncomingMessage,
    raw: Buffer,
    res: import("node:http").ServerResponse,
    answered: number | undefined,
  ): void {
    const status =
      this.failures.shift() ?? (answered !== undefined && answered >= 300 ? answered : undefined);
    if (status !== undefined) {
      res.writeHead(status).end();
      return;
    }
    let body: unknown = raw.toString("utf8");
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      // keep the text
    }
    this.received.push({
      path: (req.url ?? "").split("?")[0] ?? "",
      headers: req.headers,
      body,
      raw: raw.toString("utf8"),
      at: Date.now(),
    });
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
