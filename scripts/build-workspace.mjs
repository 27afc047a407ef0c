#!/usr/bin/env node
/**
 * `npm run build` in one workspace (called by turbo for each): bundles the
 * workspace's entry points (`src/index.ts`, and `src/main.ts` for a service or
 * the CLI) into `dist/` as ES modules with source maps.
 *
 * Why a bundle per workspace rather than `tsc` emit: the sources import relative
 * files without extensions (moduleResolution "Bundler"), which Node's ESM loader
 * does not resolve. Bundling inlines the workspace's own files and leaves every
 * bare import (npm packages and the other `@hookstream/*` workspaces) external,
 * so Node resolves those at run time through each package's `exports`, whose
 * `default` condition points at `dist/`. Type checking stays with `tsc --noEmit`.
 *
 * Plain JavaScript so that it runs before anything is built.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";

const cwd = process.cwd();
const entryPoints = ["src/index.ts", "src/main.ts"].filter((f) => existsSync(join(cwd, f)));
if (entryPoints.length === 0) {
  console.error(`build: no src/index.ts or src/main.ts in ${cwd}`);
  process.exit(1);
}
// Our output is the .js files at the top of dist/ (entries and shared chunks); a workspace
// may keep more there (the console's built UI in dist/ui). The bundle is built in memory
// and written file by file through a rename (which replaces a file at once), chunks before
// entries, and only then are the files of the previous build removed: a process that
// starts from dist/ while another build runs (`npm start` rebuilds every workspace) never
// finds an entry missing.
const dist = join(cwd, "dist");
const { outputFiles } = await build({
  entryPoints,
  outdir: "dist",
  write: false,
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // a dynamic import() of a workspace file becomes its own chunk, loaded when needed
  // (the CLI loads one command, not all of them)
  splitting: true,
  chunkNames: "chunk-[hash]",
  // keep class and function names: pino error serialisation and MikroORM migrations read them
  keepNames: true,
  logLevel: "warning",
});
// written aside in the workspace's .tmp/ (ignored, same file system), so dist/ only ever
// holds whole files
const aside = join(cwd, ".tmp", `build-${process.pid}`);
mkdirSync(aside, { recursive: true });
mkdirSync(dist, { recursive: true });
const isEntry = (f) => entryPoints.some((e) => basename(f.path).startsWith(`${basename(e, ".ts")}.`));
for (const f of [...outputFiles.filter((f) => !isEntry(f)), ...outputFiles.filter(isEntry)]) {
  const tmp = join(aside, basename(f.path));
  writeFileSync(tmp, f.contents);
  renameSync(tmp, f.path);
}
rmSync(aside, { recursive: true, force: true });
const fresh = new Set(outputFiles.map((f) => basename(f.path)));
for (const f of readdirSync(dist)) {
  if (/\.js(\.map)?$/.test(f) && !fresh.has(f)) rmSync(join(dist, f), { force: true });
}
