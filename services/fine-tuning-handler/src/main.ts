import { runHandlerMain } from "@hookstream/handler-kit";
import { fineTuningHandler } from "./fineTuningHandler";

await runHandlerMain(fineTuningHandler);
