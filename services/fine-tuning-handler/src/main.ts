import { runHandlerMain } from "@hookstream/handler-kit";
import { fineTuningHandler } from "./fineTuningHandler";

await runHandlerMain(fineTuningHandler, "FINE_TUNING_HANDLER_PORT", 3002);
