import { EraseRequest, ErasureResult } from "@hookstream/contracts";
import { defineRoute } from "@hookstream/runtime";
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { type EraseDeps, eraseEverywhere } from "./eraseEverywhere";

/**
 * Who asked, for the `erasures` row: the label of the admin token when the admin
 * auth decorates the request with one (`ADMIN_TOKENS="ops:tok1,alice:tok2"`), else "admin".
 */
export function adminLabelOf(req: FastifyRequest): string {
  const label = (req as FastifyRequest & { adminLabel?: unknown }).adminLabel;
  return typeof label === "string" && label.length > 0 ? label : "admin";
}

/** `POST /admin/erase`, registered inside the admin scope (its error handler). */
export function registerEraseRoutes(
  admin: FastifyInstance,
  deps: EraseDeps & { scanLimit?: number; requireAdmin: preHandlerAsyncHookHandler },
): void {
  defineRoute(admin, {
    method: "POST",
    url: "/admin/erase",
    summary:
      "erase one event, or every event of one resource, from every store; dryRun counts only. Records ids and counts in erasures",
    tags: ["erasure"],
    auth: deps.requireAdmin,
    body: EraseRequest,
    response: ErasureResult,
    handler: async (req) => {
      const body = req.body;
      const target =
        "eventId" in body
          ? { eventId: body.eventId, ...(body.provider ? { provider: body.provider } : {}) }
          : { resourceType: body.resourceType, resourceId: body.resourceId };
      const result = await eraseEverywhere({ ...deps, em: deps.em.fork() }, target, {
        dryRun: body.dryRun ?? false,
        actor: adminLabelOf(req),
        scanLimit: deps.scanLimit,
      });
      // ids and counts only: the log must not keep what the erasure removed
      req.log.info(
        {
          erasure_id: result.erasure_id,
          dry_run: result.dry_run,
          counts: result.counts,
          actor: result.actor,
        },
        result.dry_run ? "erasure counted (dry run)" : "erased",
      );
      return result;
    },
  });
}
