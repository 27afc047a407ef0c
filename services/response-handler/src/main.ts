import { runHandlerMain } from "@hookstream/handler-kit";
import { responseHandler } from "./responseHandler";

await runHandlerMain(responseHandler);
