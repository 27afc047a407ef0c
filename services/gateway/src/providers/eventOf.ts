import { OpenAIEvent, StandardEvent } from "@hookstream/contracts";
import type { Provider } from "./providers";

/** What the gateway needs of a body: the dedup id (msgID) and the type (subject). */
export type EventIdentity = { ok: true; id: string; type: string } | { ok: false; message: string };

/**
 * The id and type of a parsed body in the provider's envelope. OpenAI's carries its
 * id; a Standard Webhooks body does not: its id is the `webhook-id` header, which the
 * spec makes the same on every retry of one message (so dedup works the same).
 */
export function eventOf(provider: Provider, body: unknown, webhookId: string): EventIdentity {
  const parsed = provider.envelope === "openai" ? OpenAIEvent.safeParse(body) : StandardEvent.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    const shape = provider.envelope === "openai" ? "an OpenAI event" : "a Standard Webhooks event";
    return { ok: false, message: `the body is not ${shape}: ${issues}` };
  }
  const id = "id" in parsed.data && provider.envelope === "openai" ? String(parsed.data.id) : webhookId;
  return { ok: true, id, type: parsed.data.type };
}
