export { type BreakerPolicy, CircuitBreaker, type FailureVerdict } from "./circuitBreaker";
export { publishDelivery } from "./deliveryLog";
export {
  createNotifier,
  type NotificationDelivery,
  type Notifier,
  type NotifierConfig,
  type NotifierOptions,
} from "./notifier";
export { type NotifyMetrics, notifyMetrics } from "./notifyMetrics";
export { notificationId, signedHeaders } from "./signNotification";
