export * from "./consumerGauges";
export * from "./healthRoutes";
export * from "./logger";
export * from "./metrics";
export * from "./prettyLog";
export * from "./requestTracing";
export * from "./tracing";
