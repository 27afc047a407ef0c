import { SERVICE_NAMES, SERVICES } from "@hookstream/contracts";

/**
 * The label every hookstream target carries, so that alerts and dashboards select
 * `up{part_of="hookstream"}` instead of a list of jobs (Kubernetes: the pods' label
 * app.kubernetes.io/part-of, relabelled to part_of; deploy/README.md).
 */
export const PART_OF_LABEL = { name: "part_of", value: "hookstream" } as const;

/** Prometheus scrape jobs: one per service (job = service name), each with the shared label. */
export function prometheusJobs(): string {
  return SERVICE_NAMES.map((s) =>
    [
      `  - job_name: ${s}`,
      "    static_configs:",
      `      - targets: ["${s}:${SERVICES[s].defaultPort}"]`,
      `        labels: { ${PART_OF_LABEL.name}: ${PART_OF_LABEL.value} }`,
    ].join("\n"),
  ).join("\n");
}
