import { runServiceMain } from "@hookstream/runtime";
import type { HandlerDefinition } from "./HandlerDefinition";
import { handlerService } from "./handlerService";

/** The `main` of a handler service: the runtime's, with the handler's definition. */
export function runHandlerMain(definition: HandlerDefinition): Promise<void> {
  return runServiceMain(handlerService(definition));
}
