import { runServiceMain } from "@hookstream/runtime";
import { fineTuneService } from "./fineTuneService";

await runServiceMain(fineTuneService);
