export * from "./processes";
export * from "./signWebhook";
export * from "./testEnv";
