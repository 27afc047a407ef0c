import { fileURLToPath } from "node:url";
import { defaultClientConditions, defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The console's static build: `ui/` → `dist/ui/` (the audit serves it at `/`).
 * `dist/index.js` beside it is the package's Node entry (the assets' path), built
 * by the workspace's esbuild step, so the UI's output folder stays apart from it.
 */
export default defineConfig({
  root: here("./ui"),
  base: "/",
  // the workspaces' TypeScript sources (the `source` condition), as tsx and vitest read them
  resolve: {
    conditions: ["source", ...defaultClientConditions],
    // the contracts package also signs webhooks with node:crypto; the console never
    // calls that, and this stub keeps the browser build from pulling Node in
    alias: { "node:crypto": here("./ui/nodeCryptoStub.ts") },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("./dist/ui"),
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
    sourcemap: false,
  },
});
