import { type OpenAIEvent, ResponseData } from "@hookstream/contracts";
import { type HandlerDefinition, statusFromType } from "@hookstream/handler-kit";
import { PermanentError } from "@hookstream/messaging";

export const EXCERPT_CHARS = 200;

/** The text of a response's output messages (what the SDK calls `output_text`). */
export function outputText(response: ResponseData): string {
  if (response.output_text !== undefined) return response.output_text;
  const parts: string[] = [];
  for (const item of response.output ?? []) {
    if (item.type !== "message") continue;
    for (const c of item.content ?? [])
      if (c.type === "output_text" && c.text !== undefined) parts.push(c.text);
  }
  return parts.join("");
}

/** The notification for a response: its status and the start of its output. */
export function responseNotification(event: OpenAIEvent, response: ResponseData | null) {
  const text = response ? outputText(response) : "";
  return {
    event_type: event.type,
    event_id: event.id,
    resource_type: "response",
    resource_id: String(event.data.id),
    status: response?.status ?? statusFromType(event.type),
    output_excerpt: text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text,
  };
}

export const responseHandler: HandlerDefinition = {
  handler: "response",
  async process(ctx) {
    const id = ctx.event.data.id;
    if (typeof id !== "string" || id.length === 0)
      throw new PermanentError("the event has no data.id (response id)");
    const response = ctx.openai
      ? ResponseData.parse(
          await ctx.callOpenAI("retrieve response", (c) =>
            c.responses.retrieve(id, {}, { headers: { "Idempotency-Key": ctx.event.id } }),
          ),
        )
      : null;
    await ctx.notify(responseNotification(ctx.event, response));
  },
};
