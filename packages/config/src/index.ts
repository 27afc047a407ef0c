export * from "./common";
export * from "./parseConfig";
export * from "./trustProxy";
export * from "./jsonListVar";
export * from "./openaiProjects";
