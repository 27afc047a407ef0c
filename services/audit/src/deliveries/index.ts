export { type DeliveryConsumerOptions, startDeliveryConsumer } from "./deliveryConsumer";
export { registerDeliveryRoutes } from "./deliveryRoutes";
export { readDeliveries, recordDeliveries } from "./recordDeliveries";
