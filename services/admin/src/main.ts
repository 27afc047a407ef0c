import { runServiceMain } from "@hookstream/runtime";
import { adminService } from "./adminService";

await runServiceMain(adminService);
