import { runHandlerMain } from "@hookstream/handler-kit";
import { responseHandler } from "./responseHandler";

await runHandlerMain(responseHandler, "RESPONSE_HANDLER_PORT", 3004);
