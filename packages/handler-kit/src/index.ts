export * from "./classifyError";
export * from "./HandlerDefinition";
export * from "./handlerConfig";
export * from "./inbox";
export * from "./postJson";
export * from "./runHandlerMain";
export * from "./startHandler";
