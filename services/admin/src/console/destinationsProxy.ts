import { DestinationNameParam, DestinationPauseRequest } from "@hookstream/contracts";
import { parseInput } from "@hookstream/runtime";
import type { FastifyInstance } from "fastify";
import { forwardJson } from "./forwardJson";

/**
 * The console's Destinations page, forwarded to the delivery service's routes at
 * DELIVERY_URL (docs/destinations.md, "Operating it"):
 * - `GET /api/destinations` → `GET /admin/destinations`
 * - `POST /api/destinations/:name/pause` (`{ reason? }`), `/resume`, `/test` → the same
 *   under `/admin/destinations/:name/`.
 * The name and the body are validated here, before anything goes out; the delivery
 * service checks the same admin token again.
 */
export function registerDestinationsProxy(scope: FastifyInstance, deliveryUrl: string): void {
  const base = deliveryUrl.replace(/\/+$/, "");
  const unreachable = { error: "delivery_unreachable", service: "delivery", variable: "DELIVERY_URL" };

  scope.get("/api/destinations", (req, reply) =>
    forwardJson(req, reply, { base, path: "/admin/destinations", method: "GET", unreachable }),
  );
  for (const action of ["pause", "resume", "test"] as const) {
    scope.post(`/api/destinations/:name/${action}`, (req, reply) => {
      const { name } = parseInput(DestinationNameParam, req.params, "params");
      const body = action === "pause" ? parseInput(DestinationPauseRequest, req.body, "body") : {};
      return forwardJson(req, reply, {
        base,
        path: `/admin/destinations/${encodeURIComponent(name)}/${action}`,
        method: "POST",
        body,
        unreachable,
      });
    });
  }
}
