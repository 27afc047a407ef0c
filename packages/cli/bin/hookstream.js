#!/usr/bin/env node
// The CLI runs from its TypeScript source through tsx, like every service (`npm start`).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
