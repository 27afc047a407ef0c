export * from "./healthRoutes";
export * from "./logger";
export * from "./metrics";
