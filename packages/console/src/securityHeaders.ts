import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

/**
 * The console's Content-Security-Policy: scripts, styles, fonts and API calls from the
 * page's own origin only, no inline script (an injected `<script>` does not run), no
 * plugins, no framing by another site. `data:` images for the inline favicon. Preact
 * sets styles through the DOM (CSSOM), which `style-src 'self'` allows.
 */
export const CONSOLE_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  // the console is often reached over plain http on a private address: upgrading its
  // requests to https would break it there
  upgradeInsecureRequests: null,
};

/**
 * Browser security headers on every answer of the service that serves the console
 * (@fastify/helmet): the CSP above, `X-Content-Type-Options: nosniff`,
 * `X-Frame-Options: DENY` beside `frame-ancestors 'none'` for older browsers,
 * `Referrer-Policy: no-referrer`, and helmet's other defaults.
 */
export function registerConsoleSecurityHeaders(app: FastifyInstance): void {
  // helmet is a fastify-plugin: its hook applies to every route of the app, those
  // registered before it included (hooks are gathered when the app is ready)
  app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    // an API the console's origin alone reads; HSTS belongs to whoever terminates TLS
    strictTransportSecurity: false,
  });
}
