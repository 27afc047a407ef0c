import { tracedFetch } from "@hookstream/observability";
import OpenAI from "openai";
import type { HandlerConfig } from "./handlerConfig";

/** The SDK client for enrichment, or null without OPENAI_API_KEY (work from the webhook alone). */
export function createOpenAIClient(config: HandlerConfig): OpenAI | null {
  if (!config.OPENAI_API_KEY) return null;
  return new OpenAI({
    apiKey: config.OPENAI_API_KEY,
    baseURL: config.OPENAI_BASE_URL,
    timeout: config.OPENAI_TIMEOUT_MS,
    // our own nak backoff retries, visibly and durably; the SDK's in-process retries would hide them
    maxRetries: 0,
    // each call a CLIENT span of the event's trace, with traceparent on the request
    fetch: tracedFetch,
  });
}
