import { EraseRequest, EventSearchQuery, Id } from "@hookstream/contracts";
import { createRegistry } from "@hookstream/observability";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createHttpApp } from "./createHttpApp";
import { defineRoute } from "./defineRoute";
import { OPENAPI_PATH, registeredRoutes } from "./openApi";

function shell() {
  const app = createHttpApp({
    logger: pino({ level: "silent" }),
    registry: createRegistry("route-test", { defaultMetrics: false }),
    readiness: async () => null,
    openapi: { title: "test" },
  });
  defineRoute(app, {
    method: "GET",
    url: "/things/:id",
    summary: "one thing",
    tags: ["things"],
    params: z.object({ id: Id }),
    query: EventSearchQuery,
    response: z.object({ id: z.string(), limit: z.number() }),
    handler: async (req) => ({ id: req.params.id, limit: req.query.limit }),
  });
  defineRoute(app, {
    method: "POST",
    url: "/erase",
    summary: "erase",
    tags: ["things"],
    body: EraseRequest,
    handler: async (req) => req.body,
  });
  // a route of its own making, with a plain JSON Schema response (the gateway's fast serializer)
  app.get(
    "/plain",
    { schema: { response: { 200: { type: "object", properties: { a: { type: "string" } } } } } },
    async () => ({ a: "x" }),
  );
  return app;
}

describe("defineRoute", () => {
  it("validates params, query and body before the handler: 400 invalid_<parameter>, the schema's words only", async () => {
    const app = shell();
    const get = (url: string) => app.inject({ url });
    expect((await get("/things/a?limit=3")).json()).toEqual({ id: "a", limit: 3 });
    for (const [url, code] of [
      ["/things/a?limit=99999999999", "invalid_limit"],
      ["/things/a?limit=abc", "invalid_limit"],
      ["/things/a?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OQ", "invalid_cursor"],
      ["/things/a?since=100000001d", "invalid_since"],
      ["/things/a%20b", "invalid_id"],
    ] as const) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ error: code });
      expect(Object.keys(res.json()).sort()).toEqual(["error", "message"]);
    }
    // a union names the field of the branch that came closest
    const erase = (payload: object) => app.inject({ method: "POST", url: "/erase", payload });
    expect((await erase({ resourceType: "batch", resourceId: ">" })).json()).toMatchObject({
      error: "invalid_resourceId",
    });
    expect((await erase({ eventId: "a.b" })).json()).toMatchObject({ error: "invalid_eventId" });
    expect((await erase({ resourceType: "batch" })).json()).toMatchObject({ error: "invalid_resourceId" });
    const none = await app.inject({ method: "POST", url: "/erase" });
    expect(none.statusCode).toBe(400);
    await app.close();
  });

  it("serves every registered route at /openapi.json, as OpenAPI 3.1, with its parameters", async () => {
    const app = shell();
    const doc = (await app.inject({ url: OPENAPI_PATH })).json();
    expect(doc.openapi).toBe("3.1.0");
    const routes = registeredRoutes(app).filter((r) => r.method !== "HEAD");
    expect(routes.map((r) => r.url)).toEqual(
      expect.arrayContaining([
        "/healthz",
        "/readyz",
        "/metrics",
        OPENAPI_PATH,
        "/things/:id",
        "/erase",
        "/plain",
      ]),
    );
    for (const r of routes) {
      const path = r.url.replace(/:(\w+)/g, "{$1}");
      expect(doc.paths[path]?.[String(r.method).toLowerCase()], `${r.method} ${r.url}`).toBeDefined();
    }
    const params = doc.paths["/things/{id}"].get.parameters.map(
      (p: { in: string; name: string }) => `${p.in} ${p.name}`,
    );
    expect(params).toEqual(expect.arrayContaining(["path id", "query cursor", "query limit", "query since"]));
    expect(doc.paths["/erase"].post.requestBody.content["application/json"].schema.anyOf).toHaveLength(2);
    expect(doc.paths["/plain"].get.responses["200"]).toBeDefined();
    await app.close();
  });
});
