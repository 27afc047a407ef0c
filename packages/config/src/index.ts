export * from "./common";
export * from "./devEnv";
export * from "./jsonListVar";
export * from "./openaiProjects";
export * from "./parseConfig";
export * from "./trustProxy";
