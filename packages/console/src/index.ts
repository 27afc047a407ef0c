import { fileURLToPath } from "node:url";

/**
 * Absolute path of the console's built assets (`vite build` writes them to
 * `dist/ui/`). Both this file and its bundle (`dist/index.js`) sit one folder
 * below the package root, so the same relative URL works from either.
 */
export const CONSOLE_ASSETS_DIR: string = fileURLToPath(new URL("../dist/ui/", import.meta.url));

export { CONSOLE_CSP, registerConsoleSecurityHeaders } from "./securityHeaders";
