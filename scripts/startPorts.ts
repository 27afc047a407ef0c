/**
 * The ports `npm start` gives its services, and whether each is free. Checked before
 * the build (scripts/preflight.ts) and again before the services start, so a second
 * `npm start` beside a running one stops at once, naming the port, instead of
 * printing "ready" (the first one answers its readiness checks) and failing later.
 */
import net from "node:net";
import { SERVICES } from "@hookstream/contracts";

export interface ServicePort {
  service: string;
  portVar: string;
  port: number;
  /** the address the service binds: its <SERVICE>_HOST, else HTTP_HOST, else all */
  host: string;
}

/** The port and bind address of every service of the catalog, as the services will read them. */
export function servicePorts(
  env: NodeJS.ProcessEnv,
  services: readonly string[] = Object.keys(SERVICES),
): ServicePort[] {
  const catalog = SERVICES as Record<string, { portVar: string; defaultPort: number } | undefined>;
  return services.flatMap((service) => {
    const spec = catalog[service];
    if (!spec) return [];
    const hostVar = spec.portVar.replace(/_PORT$/, "_HOST");
    return [
      {
        service,
        portVar: spec.portVar,
        port: Number(env[spec.portVar]?.trim() || spec.defaultPort),
        host: env[hostVar]?.trim() || env.HTTP_HOST?.trim() || "0.0.0.0",
      },
    ];
  });
}

/** The local URL another process reaches a service at (127.0.0.1 for a wildcard bind). */
export function localUrl(p: ServicePort): string {
  const host = p.host === "0.0.0.0" || p.host === "::" ? "127.0.0.1" : p.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${p.port}`;
}

/** Resolves to the listen error's code (EADDRINUSE, EACCES) or null when the port is free. */
function tryListen(port: number, host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** Every problem with the ports, each a sentence that names the port and its variable. */
export async function portProblems(ports: ServicePort[]): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<number, ServicePort>();
  for (const p of ports) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      problems.push(`${p.portVar}=${p.port} is not a port (1 to 65535)`);
      continue;
    }
    const twin = seen.get(p.port);
    if (twin) {
      problems.push(`${p.portVar} and ${twin.portVar} are both ${p.port}: give each service its own port`);
      continue;
    }
    seen.set(p.port, p);
    const code = await tryListen(p.port, p.host);
    if (code === "EADDRINUSE") {
      problems.push(
        `port ${p.port} (${p.portVar}, ${p.service}) is already in use: another \`npm start\` may be running. ` +
          `Stop it, or move the port: ${p.portVar}=<free port> npm start`,
      );
    } else if (code !== null) {
      problems.push(`cannot listen on ${p.host}:${p.port} (${p.portVar}, ${p.service}): ${code}`);
    }
  }
  return problems;
}
