export { type DeliveryConsumerOptions, startDeliveryConsumer } from "./deliveryConsumer";
