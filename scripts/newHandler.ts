/**
 * `npm run new:handler -- <name> --types '<prefix>.*'`: a new domain handler.
 *
 * Writes services/<name>-handler/ (package.json, tsconfig.json, src/index.ts, a
 * four-line src/main.ts and src/<name>Handler.ts: the domain's HandlerDefinition and
 * the zod schema of its data), adds its entry to HANDLERS
 * (packages/contracts/src/handlers.ts) on the next free port, runs `npm install` so the
 * lockfile and node_modules know the workspace, then `npm run generate` for the deploy
 * and ops files. What is left to write is the handler's work on one event
 * (docs/architecture.md, "Adding a domain").
 *
 *   --port N          its port instead of the next free one
 *   --lockfile-only   `npm install --package-lock-only`: the lockfile only, node_modules
 *                     untouched (a throwaway copy of the repository whose node_modules is
 *                     borrowed, as tests/newHandler.int.spec.ts makes)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HANDLERS, SERVICE_NAMES, SERVICES } from "@hookstream/contracts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const HANDLERS_FILE = "packages/contracts/src/handlers.ts";
/** the line of handlers.ts new entries go above */
const ENTRY_MARK = "  // new:handler adds entries above this line";

export interface NewHandlerOptions {
  name: string;
  /** a glob over event types: `eval.run.*` (or `eval.run.>`) */
  types: string;
  port?: number;
  lockfileOnly?: boolean;
}

function fail(message: string): never {
  process.stderr.write(`new:handler: ${message}\n`);
  process.exit(2);
}

export function parseArgs(argv: string[]): NewHandlerOptions {
  const positional: string[] = [];
  const opts: Partial<NewHandlerOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--types") opts.types = argv[++i];
    else if (arg.startsWith("--types=")) opts.types = arg.slice("--types=".length);
    else if (arg === "--port") opts.port = Number(argv[++i]);
    else if (arg === "--lockfile-only") opts.lockfileOnly = true;
    else if (arg.startsWith("--")) fail(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [name] = positional;
  if (!name || positional.length > 1 || !opts.types)
    fail("usage: npm run new:handler -- <name> --types '<prefix>.*' [--port N] [--lockfile-only]");
  return { ...opts, name, types: opts.types } as NewHandlerOptions;
}

/** `eval.run` for `eval.run.*`: the prefix of the types the handler takes. */
export function domainOf(types: string): string {
  const domain = types.replace(/\.(\*|>)$/, "");
  if (!/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(domain))
    fail(`--types '${types}' must be a prefix of event types and a wildcard, e.g. 'eval.run.*'`);
  return domain;
}

/** `fineTuning` for `fine-tuning`. */
function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function pascal(name: string): string {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** The files of the domain's folder, by path under services/<name>-handler/. */
export function handlerFiles(name: string, domain: string): Record<string, string> {
  const def = `${camel(name)}Handler`;
  const data = `${pascal(name)}Data`;
  const notification = `${camel(name)}Notification`;
  const pkg = {
    name: `@hookstream/${name}-handler`,
    version: "0.1.0",
    private: true,
    type: "module",
    exports: { ".": { source: "./src/index.ts", types: "./src/index.ts", default: "./dist/index.js" } },
    scripts: {
      typecheck: "tsc -p . --noEmit",
      start: "node dist/main.js",
      build: "node ../../scripts/build-workspace.mjs",
    },
    dependencies: {
      "@hookstream/contracts": "*",
      "@hookstream/handler-kit": "*",
      "@hookstream/messaging": "*",
    },
  };
  return {
    "package.json": `${JSON.stringify(pkg, null, 2)}\n`,
    "tsconfig.json": '{ "extends": "../../tsconfig.base.json", "include": ["src", "../../types"] }\n',
    "src/index.ts": `export * from "./${def}";\n`,
    "src/main.ts": `import { runHandlerMain } from "@hookstream/handler-kit";
import { ${def} } from "./${def}";

await runHandlerMain(${def});
`,
    [`src/${def}.ts`]: `import type { OpenAIEvent } from "@hookstream/contracts";
import { type HandlerDefinition, statusFromType } from "@hookstream/handler-kit";
import { PermanentError } from "@hookstream/messaging";
import { z } from "zod";

/** The \`data\` of an event of \`${domain}.*\` as the webhook carries it (OpenAI sends more; it is kept). */
export const ${data} = z.looseObject({ id: z.string().min(1) });
export type ${data} = z.infer<typeof ${data}>;

/** The notification for one event: what happened to which resource. */
export function ${notification}(event: OpenAIEvent, data: ${data}) {
  return {
    event_type: event.type,
    event_id: event.id,
    resource_type: "${domain.replaceAll(".", "_")}",
    resource_id: data.id,
    status: statusFromType(event.type),
  };
}

/** The ${name} domain: events of \`${domain}.*\` (the catalog's HANDLERS entry). */
export const ${def}: HandlerDefinition = {
  handler: "${name}",
  async process(ctx) {
    const data = ${data}.safeParse(ctx.event.data);
    if (!data.success) throw new PermanentError(\`the event's data has no id: \${data.error.message}\`);
    await ctx.notify(${notification}(ctx.event, data.data));
  },
};
`,
  };
}

/** handlers.ts with the new entry above the mark. */
export function withCatalogEntry(source: string, name: string, domain: string, port: number): string {
  if (!source.includes(ENTRY_MARK)) fail(`${HANDLERS_FILE} has lost its line "${ENTRY_MARK.trim()}"`);
  const key = /^[a-z_$][\w$]*$/i.test(name) ? name : `"${name}"`;
  const entry = `  ${key}: { domain: "${domain}", defaultPort: ${port}, retry: DEFAULT_RETRY },`;
  return source.replace(ENTRY_MARK, `${entry}\n${ENTRY_MARK}`);
}

function run(cmd: string, args: string[]): void {
  process.stdout.write(`new:handler: ${cmd} ${args.join(" ")}\n`);
  execFileSync(cmd, args, { cwd: ROOT, stdio: "inherit" });
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const { name } = opts;
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name))
    fail(`"${name}" must be lowercase letters and digits, words joined by "-"`);
  if (Object.hasOwn(HANDLERS, name)) fail(`the catalog already has a handler "${name}"`);
  const folder = join(ROOT, "services", `${name}-handler`);
  if (existsSync(folder)) fail(`services/${name}-handler already exists`);
  const domain = domainOf(opts.types);
  const port = opts.port ?? Math.max(...SERVICE_NAMES.map((s) => SERVICES[s].defaultPort)) + 1;

  for (const [path, content] of Object.entries(handlerFiles(name, domain))) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  const handlers = join(ROOT, HANDLERS_FILE);
  writeFileSync(handlers, withCatalogEntry(readFileSync(handlers, "utf8"), name, domain, port));
  process.stdout.write(
    `new:handler: wrote services/${name}-handler/ and the ${name} entry of ${HANDLERS_FILE} (port ${port})\n`,
  );

  run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    ...(opts.lockfileOnly ? ["--package-lock-only", "--offline"] : []),
  ]);
  // a process of its own: this one loaded the catalog as it was before the entry
  run("npm", ["run", "generate", "--silent"]);
  process.stdout.write(
    `new:handler: done. Write what the ${name} handler does with one event in services/${name}-handler/src/${camel(name)}Handler.ts\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
