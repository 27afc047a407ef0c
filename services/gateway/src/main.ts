import { runServiceMain } from "@hookstream/runtime";
import { gatewayService } from "./gatewayService";

await runServiceMain(gatewayService);
