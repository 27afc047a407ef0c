/**
 * A URL as operators see it (status, delivery log, logs): scheme, host and port, the
 * path masked. Paths of webhook receivers often carry a token (`/hooks/T000/B000/XXXX`).
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" && !u.search ? "/" : "/***"}`;
  } catch {
    return "(invalid URL)";
  }
}
