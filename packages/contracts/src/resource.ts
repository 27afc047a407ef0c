import type { OpenAIEvent } from "./envelope";
import { isKnownEventType, type KnownEventType } from "./eventTypes";

export interface ResourceRef {
  resourceType: string | null;
  resourceId: string | null;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

function knownResourceType(type: KnownEventType): { resourceType: string; idField: "id" | "call_id" } {
  switch (type) {
    case "batch.cancelled":
    case "batch.completed":
    case "batch.expired":
    case "batch.failed":
      return { resourceType: "batch", idField: "id" };
    case "eval.run.canceled":
    case "eval.run.failed":
    case "eval.run.succeeded":
      return { resourceType: "eval_run", idField: "id" };
    case "fine_tuning.job.cancelled":
    case "fine_tuning.job.failed":
    case "fine_tuning.job.succeeded":
      return { resourceType: "fine_tuning_job", idField: "id" };
    // A realtime call carries `call_id`, not `id` (RealtimeCallIncomingWebhookEvent.Data).
    case "realtime.call.incoming":
      return { resourceType: "realtime_call", idField: "call_id" };
    case "response.cancelled":
    case "response.completed":
    case "response.failed":
    case "response.incomplete":
      return { resourceType: "response", idField: "id" };
    default: {
      const exhaustive: never = type;
      return exhaustive;
    }
  }
}

/**
 * Which OpenAI object an event is about. Known types map exactly; an unknown future
 * type is guessed from its first segments (`foo.bar.done` → `foo_bar`) and `data.id`,
 * so it is still findable in the audit.
 */
export function resourceOf(event: Pick<OpenAIEvent, "type" | "data">): ResourceRef {
  if (isKnownEventType(event.type)) {
    const { resourceType, idField } = knownResourceType(event.type);
    return { resourceType, resourceId: str(event.data[idField]) };
  }
  const parts = event.type.split(".");
  const resourceType = parts.length > 1 ? parts.slice(0, -1).join("_") : (parts[0] ?? null);
  return { resourceType, resourceId: str(event.data.id) ?? str(event.data.call_id) };
}
