#!/usr/bin/env node
// The CLI runs compiled (`npm run build` writes dist/main.js); tsx is for development only.
import { existsSync } from "node:fs";

const entry = new URL("../dist/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("hookstream: not built yet. Run `npm run build` at the repository root.\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
