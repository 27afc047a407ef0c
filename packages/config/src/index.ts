export * from "./common";
export * from "./parseConfig";
export * from "./trustProxy";
