import { tracedFetch } from "@hookstream/observability";
import type OpenAI from "openai";
import type { HandlerConfig } from "./handlerConfig";

/**
 * The SDK client for enrichment, or null without OPENAI_API_KEY (work from the webhook
 * alone). The SDK is loaded only when there is a key: it is a fair part of an idle heap.
 */
export async function createOpenAIClient(config: HandlerConfig): Promise<OpenAI | null> {
  if (!config.OPENAI_API_KEY) return null;
  const { default: OpenAISdk } = await import("openai");
  return new OpenAISdk({
    apiKey: config.OPENAI_API_KEY,
    baseURL: config.OPENAI_BASE_URL,
    timeout: config.OPENAI_TIMEOUT_MS,
    // our own nak backoff retries, visibly and durably; the SDK's in-process retries would hide them
    maxRetries: 0,
    // each call a CLIENT span of the event's trace, with traceparent on the request
    fetch: tracedFetch,
  });
}
