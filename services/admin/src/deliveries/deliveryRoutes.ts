import { readDeliveries } from "@hookstream/audit-store";
import type { EventDeliveries } from "@hookstream/contracts";
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
  app.get<{ Params: { event_id: string } }>(
    "/admin/events/:event_id/deliveries",
    { preHandler: deps.requireAdmin },
    async (req): Promise<EventDeliveries> => ({
      deliveries: await readDeliveries(deps.em.fork(), req.params.event_id),
    }),
  );
}
