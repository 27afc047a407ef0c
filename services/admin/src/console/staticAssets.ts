import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifySchema } from "fastify";

/** Paths that are the API's, never the page's: an unknown one is a JSON 404, not the app. */
const API_PATH = /^\/(admin|api)(\/|$)/;

/**
 * The built console (`packages/console/dist/ui`) at `/`. Any other GET that is not
 * an API path and names no file gets `index.html` (the page routes itself), so a
 * shared link like `/events?status=dead` opens the right page. Hashed files under
 * `assets/` are cached for good; `index.html` never is, so a new build shows at once.
 */
export function registerStaticConsole(app: FastifyInstance, assetsDir: string): void {
  const page = { schema: { summary: "the console (HTML)", tags: ["console"] } as FastifySchema };
  if (!existsSync(join(assetsDir, "index.html"))) {
    app.get("/", page, (_req, reply) =>
      reply.code(503).send({
        error: "console_not_built",
        message: `no console assets in ${assetsDir}: run npm run build -w @hookstream/console`,
      }),
    );
    return;
  }
  app.register(fastifyStatic, {
    root: assetsDir,
    wildcard: false,
    index: false,
    setHeaders(reply, path) {
      reply.header(
        "cache-control",
        path.includes(join("/", "assets", "/")) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  // the page's own paths (/events, /dlq, …); its files (index.html, assets/*) are
  // @fastify/static's routes, hidden from /openapi.json (schemaHide)
  app.get("/*", page, (req, reply) => {
    const path = req.url.split("?")[0] ?? "/";
    if (API_PATH.test(path) || /\.[a-z0-9]+$/i.test(path)) {
      return reply.code(404).send({ error: "not_found", message: `no route ${req.method} ${path}` });
    }
    return reply.header("cache-control", "no-cache").sendFile("index.html");
  });
}
