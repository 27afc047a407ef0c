export * from "./common";
export * from "./parseConfig";
