export * from "./awaitReplayVerdict";
export * from "./bulkReplay";
export * from "./handlerTakesType";
export * from "./natsConnectionOf";
export * from "./replayLocks";
export * from "./replayRoutes";
export * from "./replayWithVerdict";
