export * from "./batchHandler";
