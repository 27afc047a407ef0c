import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONSUMERS, makeTopology, SERVICE_NAMES, SERVICES } from "@hookstream/contracts";
import { composeFile } from "./compose";
import { benchFiguresTable, durablesTable, servicesTable } from "./docs";
import { deploymentsYaml, hpaYaml, kedaYaml, migrateJobYaml, pdbYaml, servicesYaml } from "./k8s";
import { accountsConf, natsValuesEnv } from "./nats";
import { prometheusJobs } from "./prometheus";
import { regionMarkers, replaceRegion } from "./text";

export { PART_OF_LABEL } from "./prometheus";

export interface GeneratedFile {
  /** relative to the repository's root */
  path: string;
  content: string;
}

const topology = makeTopology("");

/** Whole files, written from the catalog alone. */
const WHOLE: Record<string, () => string> = {
  "deploy/nats/accounts.conf": accountsConf,
  "deploy/k8s/base/deployments.yaml": deploymentsYaml,
  "deploy/k8s/base/pdb.yaml": pdbYaml,
  "deploy/k8s/base/hpa.yaml": hpaYaml,
  "deploy/k8s/base/keda.yaml": () =>
    kedaYaml((d) => topology.streams[CONSUMERS[d as keyof typeof CONSUMERS].stream]),
  "deploy/k8s/base/services.yaml": servicesYaml,
  "deploy/k8s/base/migrate-job.yaml": migrateJobYaml,
};

/** The image's EXPOSE: every service's default port. */
function exposedPorts(): string {
  return `EXPOSE ${SERVICE_NAMES.map((s) => SERVICES[s].defaultPort).join(" ")}`;
}

/**
 * Regions of hand-written files: the rest of each file is kept as written. (docker-compose.yml:
 * its generated services are marked blocks among the hand-written ones, composeFile.)
 */
const REGIONS: {
  path: string;
  comment: "#" | "<!--";
  name: string;
  body: (root: string) => string;
  /** what writes the region, in its begin marker (default: npm run generate, from the catalog) */
  source?: string;
}[] = [
  { path: "deploy/nats/values.yaml", comment: "#", name: "nats passwords", body: natsValuesEnv },
  { path: "deploy/observability/prometheus.yml", comment: "#", name: "scrape jobs", body: prometheusJobs },
  { path: "Dockerfile", comment: "#", name: "ports", body: exposedPorts },
  { path: "docs/architecture.md", comment: "<!--", name: "durables", body: durablesTable },
  { path: "docs/architecture.md", comment: "<!--", name: "services", body: servicesTable },
  {
    path: "docs/guarantees.md",
    comment: "<!--",
    name: "bench figures",
    body: benchFiguresTable,
    source: "npm run bench, from bench/results.json; never edit these lines",
  },
];

/** Every generated file as the catalog gives it, regions filled into the files as they are under `root`. */
export function generatedFiles(root: string): GeneratedFile[] {
  const whole = Object.entries(WHOLE).map(([path, render]) => ({ path, content: render() }));
  const byPath = new Map<string, string>();
  for (const r of REGIONS) {
    const current = byPath.get(r.path) ?? readFileSync(join(root, r.path), "utf8");
    byPath.set(
      r.path,
      replaceRegion(r.path, current, regionMarkers(r.comment, r.name, r.source), r.body(root)),
    );
  }
  const compose = composeFile(readFileSync(join(root, "docker-compose.yml"), "utf8"));
  return [
    ...whole,
    ...[...byPath].map(([path, content]) => ({ path, content })),
    { path: "docker-compose.yml", content: compose },
  ];
}

/** Writes the generated files that differ from the files under `root` (only those among `paths`, when given); answers their paths. */
export function regenerate(root: string, paths?: string[]): string[] {
  const written: string[] = [];
  for (const f of generatedFiles(root)) {
    if (paths && !paths.includes(f.path)) continue;
    const at = join(root, f.path);
    if (existsSync(at) && readFileSync(at, "utf8") === f.content) continue;
    writeFileSync(at, f.content);
    written.push(f.path);
  }
  return written;
}

/** The generated files whose committed text differs from what the catalog gives. */
export function staleFiles(root: string): string[] {
  return generatedFiles(root)
    .filter((f) => !existsSync(join(root, f.path)) || readFileSync(join(root, f.path), "utf8") !== f.content)
    .map((f) => f.path);
}
