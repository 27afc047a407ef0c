import { SERVICE_NAMES, SERVICES, type ServiceName } from "./catalog";

/** `FINE_TUNE_URL` for `FINE_TUNE_PORT`: the variable that tells a service where another one is. */
export function serviceUrlVar(portVar: string): string {
  return portVar.replace(/_PORT$/, "_URL");
}

/**
 * Where each service that others call (catalog `deploy.exposed`) is, by its URL
 * variable: `{ GATEWAY_URL, AUDIT_URL, FINE_TUNE_URL, … }`. `npm start` (from its
 * ports), docker-compose.yml and the Kubernetes base (from their service names) set
 * the same variables, so a new exposed service is wired everywhere at once.
 */
export function serviceUrls(urlOf: (service: ServiceName) => string): Record<string, string> {
  return Object.fromEntries(
    SERVICE_NAMES.filter((s) => SERVICES[s].deploy.exposed).map((s) => [
      serviceUrlVar(SERVICES[s].portVar),
      urlOf(s),
    ]),
  );
}
