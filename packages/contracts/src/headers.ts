/** Header names of a message on the WEBHOOKS stream (contract). */
export const MessageHeader = {
  MsgId: "Nats-Msg-Id",
  WebhookId: "Webhook-Id",
  WebhookTimestamp: "Webhook-Timestamp",
  WebhookSignature: "Webhook-Signature",
  EventType: "Event-Type",
  ReceivedAt: "Received-At",
  /** the OpenAI project whose secret verified the event (OPENAI_PROJECTS); only on OpenAI events */
  OpenaiProject: "Openai-Project",
} as const;

/** Extra headers on a DLQ message, beside the original ones. */
export const DlqHeader = {
  Handler: "Dlq-Handler",
  Attempts: "Dlq-Attempts",
  Error: "Dlq-Error",
  DeadAt: "Dlq-Dead-At",
  OriginalSubject: "Dlq-Original-Subject",
  OriginalSeq: "Dlq-Original-Seq",
  EventId: "Dlq-Event-Id",
  EventType: "Dlq-Event-Type",
} as const;

/** Headers of a message on the NOTIFICATIONS stream, beside `Nats-Msg-Id` (the event id). */
export const NotificationHeader = {
  EventId: "Event-Id",
  EventType: "Event-Type",
  ResourceType: "Resource-Type",
  ResourceId: "Resource-Id",
} as const;

/** Set on a message re-published by a replay so the audit does not count it as new. */
export const ReplayHeader = {
  Target: "Replay-Handler",
  Force: "Replay-Force",
  /**
   * On a destination's redriven dead letter (`replay.delivery.<name>.<type>`): where the
   * event was first read (`notifications.<handler>.<type>` or `webhooks.<provider>.<type>`),
   * its sequence there and its event id, which the delivery service routes and signs by.
   */
  OriginalSubject: "Replay-Original-Subject",
  OriginalSeq: "Replay-Original-Seq",
  EventId: "Replay-Event-Id",
} as const;
