import {
  DestinationList,
  DestinationNameParam,
  DestinationPauseRequest,
  DestinationStatus,
  DestinationTestResult,
} from "@hookstream/contracts";
import { defineRoute } from "@hookstream/runtime";
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import { forwardJson } from "./forwardJson";

/**
 * The console's Destinations page, forwarded to the delivery service's routes at
 * DELIVERY_URL (docs/destinations.md, "Operating it"):
 * - `GET /api/destinations` → `GET /admin/destinations`
 * - `POST /api/destinations/:name/pause` (`{ reason? }`), `/resume`, `/test` → the same
 *   under `/admin/destinations/:name/`.
 * The name and the body are validated here with the delivery service's own schemas,
 * before anything goes out; the delivery service checks the same admin token again.
 */
export function registerDestinationsProxy(
  scope: FastifyInstance,
  deliveryUrl: string,
  auth: preHandlerAsyncHookHandler,
): void {
  const base = deliveryUrl.replace(/\/+$/, "");
  const unreachable = { error: "delivery_unreachable", service: "delivery", variable: "DELIVERY_URL" };

  defineRoute(scope, {
    method: "GET",
    url: "/api/destinations",
    summary: "the delivery service's destinations (GET /admin/destinations at DELIVERY_URL), for the console",
    tags: ["console"],
    auth,
    response: DestinationList,
    handler: (req, reply) =>
      forwardJson(req, reply, { base, path: "/admin/destinations", method: "GET", unreachable }),
  });
  for (const action of ["pause", "resume", "test"] as const) {
    defineRoute(scope, {
      method: "POST",
      url: `/api/destinations/:name/${action}`,
      summary: `${action} one destination (POST /admin/destinations/:name/${action} at DELIVERY_URL), for the console`,
      tags: ["console"],
      auth,
      params: DestinationNameParam,
      ...(action === "pause" ? { body: DestinationPauseRequest } : {}),
      response: action === "test" ? DestinationTestResult : DestinationStatus,
      handler: (req, reply) =>
        forwardJson(req, reply, {
          base,
          path: `/admin/destinations/${encodeURIComponent(req.params.name)}/${action}`,
          method: "POST",
          body: action === "pause" ? req.body : {},
          unreachable,
        }),
    });
  }
}
