export * from "./arrayLiteral";
export * from "./ensureDatabase";
export * from "./initOrm";
