/**
 * A URL as it may be shown and logged: scheme, host and port, the path and query masked
 * (`https://hooks.example.com/***`). A receiver's path often is its secret
 * (`/services/T000/B000/XXXX`); user and password never show either.
 */
export function maskUrl(url: string | URL): string {
  try {
    const u = typeof url === "string" ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname === "/" && !u.search ? "/" : "/***"}`;
  } catch {
    return "(invalid URL)";
  }
}
