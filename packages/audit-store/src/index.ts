/**
 * The audit's tables as both of their users read them: the audit writer
 * (services/audit) fills `webhook_events`, `webhook_attempts` and
 * `webhook_deliveries`; the operator's service (services/admin) searches, shows
 * and erases them, and its live feed decodes messages into rows exactly as the
 * writer does. Services never import each other, so the shape lives here.
 */
export * from "./applyOutcome";
export * from "./attempts";
export * from "./eventRow";
export * from "./recordDeliveries";
export * from "./WebhookEvent";
