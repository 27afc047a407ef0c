import { isIP } from "node:net";
import { z } from "zod";

/**
 * Whom the HTTP server believes about the client's address (`X-Forwarded-For`):
 * nobody (`false`), the nearest `n` hops, or proxies at these addresses / CIDR ranges
 * (or proxy-addr's names `loopback`, `linklocal`, `uniquelocal`). Fastify's
 * `trustProxy` takes each of these as is.
 */
export type TrustProxy = false | number | string[];

const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address, bits, extra] = entry.split("/");
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: unset or `false` trusts no proxy (the client address is the socket's);
 * a number trusts that many hops (`1`: one load balancer in front); a list of addresses
 * or CIDR ranges trusts proxies there. `true` is refused: it would trust every hop of
 * `X-Forwarded-For`, which any client can write, and so let a client choose the address
 * the failed-authentication limit counts against.
 */
export function trustProxyVar() {
  return z
    .string()
    .optional()
    .transform((v, ctx): TrustProxy => {
      const text = v?.trim() ?? "";
      if (text === "" || /^(false|0|no|off)$/i.test(text)) return false;
      if (/^(true|yes|on)$/i.test(text)) {
        ctx.addIssue({
          code: "custom",
          message:
            "true would trust every X-Forwarded-For hop, which any client can write: give the number of proxies in front (e.g. 1) or their addresses or CIDR ranges (e.g. 10.0.0.0/8)",
        });
        return z.NEVER;
      }
      if (/^\d+$/.test(text)) {
        const hops = Number(text);
        if (hops > 10) {
          ctx.addIssue({
            code: "custom",
            message: `${hops} hops is more proxies than a request passes; at most 10`,
          });
          return z.NEVER;
        }
        return hops;
      }
      const entries = text.split(/[\s,]+/).filter((e) => e.length > 0);
      const bad = entries.filter((e) => !isAddressOrRange(e));
      if (bad.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `not a number of hops, an address or a CIDR range: ${bad.map((b) => `"${b}"`).join(", ")}`,
        });
        return z.NEVER;
      }
      return entries;
    });
}
