// `npm start`'s first step: the port check of the last build (dist/preflight.js), when
// there is one; a fresh clone has none yet and start.ts checks after building.
import { existsSync } from "node:fs";

const built = new URL("../dist/preflight.js", import.meta.url);
if (existsSync(built)) await import(built.href);
