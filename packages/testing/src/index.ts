export * from "./natsCluster";
export * from "./processes";
export * from "./serviceProcess";
export * from "./signWebhook";
export * from "./testEnv";
