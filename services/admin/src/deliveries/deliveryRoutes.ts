import { readDeliveries } from "@hookstream/audit-store";
import { EventDeliveries, EventIdParams } from "@hookstream/contracts";
import { defineRoute } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";

/**
 * `GET /admin/events/:event_id/deliveries` (EventDeliveries): the delivery log of one
 * event, oldest first; an empty list for an event nothing was sent for.
 */
export function registerDeliveryRoutes(
  app: FastifyInstance,
  deps: { em: EntityManager; requireAdmin: preHandlerAsyncHookHandler },
): void {
  defineRoute(app, {
    method: "GET",
    url: "/admin/events/:event_id/deliveries",
    summary: "every notification attempt of one event (webhook_deliveries), oldest first",
    tags: ["events"],
    auth: deps.requireAdmin,
    params: EventIdParams,
    response: EventDeliveries,
    handler: async (req): Promise<EventDeliveries> => ({
      deliveries: await readDeliveries(deps.em.fork(), req.params.event_id),
    }),
  });
}
