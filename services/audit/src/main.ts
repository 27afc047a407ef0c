import { runServiceMain } from "@hookstream/runtime";
import { auditService } from "./auditService";

await runServiceMain(auditService);
