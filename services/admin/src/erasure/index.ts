export * from "./eraseEverywhere";
export * from "./eraseRoutes";
export * from "./scanStream";
