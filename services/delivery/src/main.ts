import { runServiceMain } from "@hookstream/runtime";
import { deliveryService } from "./deliveryService";

await runServiceMain(deliveryService);
