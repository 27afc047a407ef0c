export * from "./connect";
export * from "./consumeLoop";
export * from "./decideAck";
export * from "./errors";
export * from "./provision";
export * from "./runBatchConsumer";
export * from "./runConsumer";
