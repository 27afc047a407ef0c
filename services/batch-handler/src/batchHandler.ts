import { BatchData, type OpenAIEvent } from "@hookstream/contracts";
import { type HandlerDefinition, statusFromType } from "@hookstream/handler-kit";
import { PermanentError } from "@hookstream/messaging";

/** The notification for a batch: its status, request counts and files. */
export function batchNotification(event: OpenAIEvent, batch: BatchData | null) {
  return {
    event_type: event.type,
    event_id: event.id,
    resource_type: "batch",
    resource_id: String(event.data.id),
    status: batch?.status ?? statusFromType(event.type),
    request_counts: batch?.request_counts ?? null,
    output_file_id: batch?.output_file_id ?? null,
    error_file_id: batch?.error_file_id ?? null,
  };
}

export const batchHandler: HandlerDefinition = {
  handler: "batch",
  async process(ctx) {
    const id = ctx.event.data.id;
    if (typeof id !== "string" || id.length === 0)
      throw new PermanentError("the event has no data.id (batch id)");
    const batch = ctx.openai
      ? BatchData.parse(
          await ctx.callOpenAI("retrieve batch", (c) =>
            c.batches.retrieve(id, { headers: { "Idempotency-Key": ctx.event.id } }),
          ),
        )
      : null;
    await ctx.notify(batchNotification(ctx.event, batch));
  },
};
