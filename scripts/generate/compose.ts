import { SERVICE_NAMES, SERVICES, serviceUrls, serviceUrlVar } from "@hookstream/contracts";
import { productionCommand } from "./k8s";

/** The first line of a compose service the generator writes: it replaces such blocks, and only those. */
export const COMPOSE_MARK =
  "  # generated from the catalog by `npm run generate`: edit the catalog, not this service";

const inline = (values: string[]) => `[ ${values.map((v) => `"${v}"`).join(", ")} ]`;

/** One service of the catalog as a compose service, on its default port. */
function composeService(s: (typeof SERVICE_NAMES)[number]): string[] {
  const { portVar, defaultPort, deploy } = SERVICES[s];
  const ports = deploy.exposed ? ["    ports:", `      - '127.0.0.1:${defaultPort}:${defaultPort}'`] : [];
  return [
    COMPOSE_MARK,
    `  ${s}:`,
    "    environment:",
    "      <<: *env",
    `      ${portVar}: "${defaultPort}"`,
    `      HEALTHCHECK_PORT: "${defaultPort}"`,
    // where the others are (the console's job pages reach fine-tune through FINE_TUNE_URL)
    ...Object.entries(serviceUrls((o) => `http://${o}:${SERVICES[o].defaultPort}`))
      .filter(([v]) => v !== serviceUrlVar(portVar))
      .map(([v, url]) => `      ${v}: ${url}`),
    ...ports,
    `    command: ${inline(productionCommand(s))}`,
    "    healthcheck:",
    `      test: [ "CMD", "node", "-e", "fetch('http://127.0.0.1:${defaultPort}/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" ]`,
    "      interval: 10s",
    "      timeout: 3s",
    "      retries: 5",
    "      start_period: 30s",
    "    <<: *service",
  ];
}

/**
 * docker-compose.yml with its `services:` rebuilt: the hand-written ones (NATS,
 * Postgres, Prometheus, …) kept as written, one generated service per service of the
 * catalog, all in alphabetical order (dclint's rule).
 */
export function composeFile(current: string): string {
  const lines = current.split("\n");
  const start = lines.indexOf("services:");
  if (start < 0) throw new Error("docker-compose.yml: no top-level `services:`");
  let end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
  if (end < 0) end = lines.length;
  const blocks: { name: string; lines: string[] }[] = [];
  let pending: string[] = [];
  for (const line of lines.slice(start + 1, end)) {
    const key = /^ {2}([\w.-]+):\s*$/.exec(line);
    if (key?.[1]) {
      blocks.push({ name: key[1], lines: [...pending, line] });
      pending = [];
    } else if (/^ {2}#/.test(line) && (blocks.length === 0 || pending.length > 0 || isBlank(blocks.at(-1)))) {
      pending.push(line);
    } else if (line.trim() === "") {
      if (blocks.length > 0) blocks.at(-1)?.lines.push(line);
    } else if (pending.length > 0) {
      pending.push(line);
    } else {
      blocks.at(-1)?.lines.push(line);
    }
  }
  const kept = blocks
    .filter((b) => b.lines[0] !== COMPOSE_MARK)
    .map((b) => ({ name: b.name, lines: trimEnd(b.lines) }));
  const generated = SERVICE_NAMES.map((s) => ({ name: s, lines: composeService(s) }));
  const all = [...kept, ...generated].sort((a, b) => a.name.localeCompare(b.name));
  const section = all.map((b) => b.lines.join("\n")).join("\n\n");
  return [...lines.slice(0, start + 1), section, "", ...lines.slice(end)].join("\n");
}

/** a block whose last line is blank: a comment after it belongs to the next block */
function isBlank(block: { lines: string[] } | undefined): boolean {
  return block !== undefined && block.lines.at(-1)?.trim() === "";
}

function trimEnd(lines: string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && out.at(-1)?.trim() === "") out.pop();
  return out;
}
