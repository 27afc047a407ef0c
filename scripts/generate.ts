/**
 * `npm run generate`: writes the deploy and ops files the catalog gives (NATS users,
 * Kubernetes objects, compose services, Prometheus jobs, the services table of
 * docs/architecture.md). `npm run generate -- --check` writes nothing and exits 1
 * naming every file that differs (tests/generated.spec.ts does the same).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { regenerate, staleFiles } from "./generate/index";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

if (process.argv.includes("--check")) {
  const stale = staleFiles(ROOT);
  if (stale.length > 0) {
    process.stderr.write(
      `generated files differ from the catalog: ${stale.join(", ")}\nrun \`npm run generate\` and commit the result\n`,
    );
    process.exit(1);
  }
  process.stdout.write("generated files match the catalog\n");
} else {
  const written = regenerate(ROOT);
  process.stdout.write(
    written.length > 0 ? `wrote ${written.join(", ")}\n` : "generated files were up to date\n",
  );
}
