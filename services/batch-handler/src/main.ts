import { runHandlerMain } from "@hookstream/handler-kit";
import { batchHandler } from "./batchHandler";

await runHandlerMain(batchHandler, "BATCH_HANDLER_PORT", 3003);
