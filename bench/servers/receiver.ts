/**
 * The delivery group's receiver: answers every POST with 200 at once (the body read,
 * nothing parsed) and keeps, per path, how many requests came and when the first and
 * the last arrived, so the delivery service and its ceiling are timed the same way, by
 * the same process. `GET /stats?path=/x` reads them; `POST /reset` clears them (control
 * requests are not counted). Compiled and run as the servers measured are.
 */
import http from "node:http";

interface Seen {
  count: number;
  /** performance.timeOrigin-based ms of the first and the last request's end */
  first: number;
  last: number;
}

const seen = new Map<string, Seen>();
const now = () => performance.timeOrigin + performance.now();

const server = http.createServer((req, res) => {
  const [path = "/", query = ""] = (req.url ?? "/").split("?");
  if (req.method === "GET" && path === "/stats") {
    const of = new URLSearchParams(query).get("path") ?? "/";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(seen.get(of) ?? { count: 0, first: 0, last: 0 }));
    return;
  }
  if (req.method === "POST" && path === "/reset") {
    seen.clear();
    res.writeHead(204).end();
    return;
  }
  req.on("data", () => {});
  req.on("end", () => {
    const t = now();
    const s = seen.get(path);
    if (s) {
      s.count++;
      s.last = t;
    } else seen.set(path, { count: 1, first: t, last: t });
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
});
// the senders keep their connections: never close one under them mid-run
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
