/**
 * The deploy and ops files `npm run generate` writes from the catalog (NATS users,
 * Kubernetes objects, compose services, Prometheus jobs, the tables of
 * docs/architecture.md) are committed: this fails when one differs from what the
 * catalog gives, naming it, so a catalog change without `npm run generate` (or a
 * hand edit of a generated file) never lands.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generatedFiles, staleFiles } from "../scripts/generate/index";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("generated files", () => {
  it("are what the catalog gives (run `npm run generate` when this fails)", () => {
    expect(staleFiles(ROOT)).toEqual([]);
  });

  it("cover the NATS users, the Kubernetes objects, compose, Prometheus and the docs' tables", () => {
    expect(generatedFiles(ROOT).map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "deploy/nats/accounts.conf",
        "deploy/nats/values.yaml",
        "deploy/k8s/base/deployments.yaml",
        "deploy/k8s/base/pdb.yaml",
        "deploy/k8s/base/hpa.yaml",
        "deploy/k8s/base/keda.yaml",
        "deploy/k8s/base/migrate-job.yaml",
        "docker-compose.yml",
        "deploy/observability/prometheus.yml",
        "docs/architecture.md",
      ]),
    );
  });
});
