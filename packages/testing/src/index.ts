export * from "./fakeOpenAI";
export * from "./natsCluster";
export * from "./notificationReceiver";
export * from "./processes";
export * from "./publishEvent";
export * from "./serviceProcess";
export * from "./signWebhook";
export * from "./testEnv";
