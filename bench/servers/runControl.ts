import http from "node:http";

/**
 * The control endpoint of a bench server that runs a measurement on request: `POST /run`
 * with a JSON body calls `run` and answers its result as JSON (500 with the message when
 * it fails); anything else is 404. Listens on PORT (loopback); SIGTERM closes it and its
 * connections, runs `onStop` and exits.
 */
export function serveRuns<T>(run: (request: T) => Promise<unknown>, onStop?: () => Promise<void>): void {
  const control = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => {
      raw += c.toString("utf8");
    });
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/run") {
        res.writeHead(404).end();
        return;
      }
      run(JSON.parse(raw) as T).then(
        (out) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out)),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
  });
  control.listen(Number(process.env.PORT), "127.0.0.1");
  process.on("SIGTERM", () => {
    control.close(() => {
      void (onStop?.() ?? Promise.resolve()).finally(() => process.exit(0));
    });
    // the runner's kept-alive connection would otherwise hold close() open
    control.closeAllConnections();
  });
}
