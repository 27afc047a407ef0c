import { EraseEvent, type EraseRequest, EraseResource } from "@hookstream/contracts";
import { parseInput } from "@hookstream/runtime";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { BadRequestError } from "../admin/adminErrors";
import { type EraseDeps, eraseEverywhere } from "./eraseEverywhere";

/**
 * Who asked, for the `erasures` row: the label of the admin token when the admin
 * auth decorates the request with one (`ADMIN_TOKENS="ops:tok1,alice:tok2"`), else "admin".
 */
export function adminLabelOf(req: FastifyRequest): string {
  const label = (req as FastifyRequest & { adminLabel?: unknown }).adminLabel;
  return typeof label === "string" && label.length > 0 ? label : "admin";
}

/** `POST /admin/erase`, registered inside the admin scope (behind its token check). */
export function registerEraseRoutes(admin: FastifyInstance, deps: EraseDeps & { scanLimit?: number }): void {
  admin.post("/admin/erase", async (req) => {
    const given = (req.body ?? {}) as Record<string, unknown>;
    if (
      typeof given !== "object" ||
      "eventId" in given === ("resourceType" in given || "resourceId" in given)
    ) {
      throw new BadRequestError(
        'the body must be { "eventId" } or { "resourceType", "resourceId" }, with "dryRun": true to count only',
        "invalid_body",
      );
    }
    // the branch the body chose, so that the answer names the field at fault
    const body: EraseRequest = parseInput("eventId" in given ? EraseEvent : EraseResource, given, "body");
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
      { erasure_id: result.erasure_id, dry_run: result.dry_run, counts: result.counts, actor: result.actor },
      result.dry_run ? "erasure counted (dry run)" : "erased",
    );
    return result;
  });
}
