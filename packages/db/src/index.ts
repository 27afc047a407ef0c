export * from "./arrayLiteral";
export * from "./ensureDatabase";
export * from "./initOrm";
export * from "./timestamps";
