import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The admin API's bearer check (the same answers as adminRoutes.ts): 503 when no
 * ADMIN_TOKEN is configured, 401 without a token, 403 with a wrong one. The console
 * tells these apart: "not configured" shows nothing, "wrong" asks again.
 */
export function adminAuthHook(adminToken: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (adminToken === undefined) {
      return reply.code(503).send({
        error: "admin_disabled",
        message: "the admin API is off: set ADMIN_TOKEN on the audit service to enable it",
      });
    }
    const header = req.headers.authorization;
    if (!header) {
      return reply
        .code(401)
        .header("www-authenticate", "Bearer")
        .send({ error: "unauthorized", message: "missing Authorization: Bearer <ADMIN_TOKEN>" });
    }
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1] || !sameToken(match[1].trim(), adminToken)) {
      return reply.code(403).send({ error: "forbidden", message: "wrong admin token" });
    }
    return undefined;
  };
}
