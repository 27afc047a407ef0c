/** Stands in for node:crypto in the browser build (see vite.config.ts); never called there. */
function unavailable(): never {
  throw new Error("node:crypto is not available in the console");
}
export const createHmac = unavailable;
export const randomUUID = unavailable;
