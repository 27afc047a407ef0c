import type { Logger } from "@hookstream/observability";
import { type RunningService, startService } from "@hookstream/runtime";
import type { DeliveryConfig } from "./config";
import { deliveryService } from "./deliveryService";

/** The delivery service started in-process (tests, benchmarks): never listens. */
export function startDelivery(
  config: DeliveryConfig,
  logger: Logger,
): Promise<RunningService<DeliveryConfig>> {
  return startService(deliveryService, config, logger);
}
