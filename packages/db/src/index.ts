export * from "./ensureDatabase";
export * from "./initOrm";
