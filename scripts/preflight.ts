/**
 * `npm start` runs this before its build (dist/preflight.js, when an earlier build left
 * it): a port already taken stops the start at once, in well under the build's time.
 * Exit 1 naming the port; 0 otherwise. start.ts checks again after the build.
 * Bundled whole, the catalog from source (packages/contracts declares no side effects,
 * so nothing else of it comes along, zod included): it runs in node's start-up time.
 */
import { portProblems, servicePorts } from "./startPorts";

const problems = await portProblems(servicePorts(process.env));
for (const p of problems) process.stderr.write(`hookstream start: ${p}\n`);
process.exitCode = problems.length > 0 ? 1 : 0;
