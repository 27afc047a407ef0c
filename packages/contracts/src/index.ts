export * from "./envelope";
export * from "./eventTypes";
export * from "./handlers";
export * from "./headers";
export * from "./jobSnapshot";
export * from "./outcome";
export * from "./resource";
export * from "./topology";
