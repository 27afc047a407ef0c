import { runHandlerMain } from "@hookstream/handler-kit";
import { batchHandler } from "./batchHandler";

await runHandlerMain(batchHandler);
