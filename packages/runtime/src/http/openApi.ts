import { fastifySwagger, type SwaggerTransform } from "@fastify/swagger";
import type { FastifyInstance, FastifySchema, RouteOptions } from "fastify";
import { jsonSchemaTransform, validatorCompiler } from "fastify-type-provider-zod";
import type { z } from "zod";
import { $ZodType } from "zod/v4/core";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * Documentation only, for what a route reads itself rather than through its schema
     * (the gateway checks the signature headers and keeps the raw body): shown in
     * /openapi.json, never validated by Fastify.
     */
    openapi?: { headers?: z.ZodObject; body?: z.ZodType };
  }
}

/** The security scheme of every route behind the admin token. */
export const ADMIN_TOKEN_SCHEME = "adminToken";

/** The URL every service serves its OpenAPI document at. */
export const OPENAPI_PATH = "/openapi.json";

export interface OpenApiOptions {
  /** the service's name */
  title: string;
  /** what the service does (the catalog's summary) */
  description?: string;
}

const registered = new WeakMap<FastifyInstance, RouteOptions[]>();

/**
 * Every route the app registered, as Fastify's onRoute hook saw it (HEAD twins of GET
 * routes included): what a test holds /openapi.json to.
 */
export function registeredRoutes(app: FastifyInstance): readonly RouteOptions[] {
  return registered.get(app) ?? [];
}

const isZod = (v: unknown): v is $ZodType => v instanceof $ZodType;

/**
 * jsonSchemaTransform (zod → JSON Schema 2020-12) with two additions: a response given
 * as plain JSON Schema (the gateway's, for its fast serializer) passes as it is, and a
 * route's `config.openapi` (what it reads itself) is documented beside its schema.
 */
const transform: SwaggerTransform = (doc) => {
  const { schema, route } = doc as typeof doc & { route: RouteOptions };
  const docOnly = route.config?.openapi;
  const merged: FastifySchema & Record<string, unknown> = {
    ...schema,
    ...(docOnly?.headers ? { headers: docOnly.headers } : {}),
    ...(docOnly?.body ? { body: docOnly.body } : {}),
  };
  const response = (merged.response ?? {}) as Record<string, unknown>;
  const plain = Object.fromEntries(Object.entries(response).filter(([, v]) => !isZodResponse(v)));
  const zod = Object.fromEntries(Object.entries(response).filter(([, v]) => isZodResponse(v)));
  const out = jsonSchemaTransform({
    ...doc,
    schema: { ...merged, response: Object.keys(zod).length > 0 ? zod : undefined },
  } as Parameters<typeof jsonSchemaTransform>[0]);
  if (Object.keys(plain).length > 0) {
    const s = (out.schema ?? {}) as Record<string, unknown>;
    s.response = { ...((s.response as object | undefined) ?? {}), ...plain };
    return { ...out, schema: s };
  }
  return out;
};

/** A zod response: the schema itself, or `{ content: { <type>: { schema: zod } } }`. */
function isZodResponse(v: unknown): boolean {
  if (isZod(v)) return true;
  const content = (v as { content?: Record<string, { schema?: unknown }> } | null)?.content;
  return content !== undefined && Object.values(content).some((c) => isZod(c.schema));
}

/**
 * The OpenAPI side of the HTTP shell: every route's params, query and body are zod values
 * (packages/contracts) that Fastify validates before the handler runs
 * (fastify-type-provider-zod's validator), and the same values are served as an OpenAPI
 * 3.1 document at `/openapi.json` (@fastify/swagger, collecting each route as it is
 * registered). The swagger plugin is applied to the root at once rather than through
 * `register`, which would load it only at `ready`: routes a service adds to the root
 * before then would be missing from the document.
 */
export function registerOpenApi(app: FastifyInstance, opts: OpenApiOptions): void {
  const routes: RouteOptions[] = [];
  registered.set(app, routes);
  app.addHook("onRoute", (route) => {
    routes.push(route);
  });
  app.setValidatorCompiler(validatorCompiler);
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: "3.1.0",
        info: {
          title: `hookstream ${opts.title}`,
          version: "1.0.0",
          ...(opts.description ? { description: opts.description } : {}),
        },
        components: {
          securitySchemes: {
            [ADMIN_TOKEN_SCHEME]: {
              type: "http",
              scheme: "bearer",
              description: "ADMIN_TOKEN, or a token of ADMIN_TOKENS",
            },
          },
        },
      },
      transform,
    },
    (err) => {
      if (err) throw err;
    },
  );
  app.get(
    OPENAPI_PATH,
    { schema: { summary: "this document: every route of the service with its parameters", tags: ["meta"] } },
    async () => app.swagger(),
  );
}
