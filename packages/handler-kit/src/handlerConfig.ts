import { intVar, openaiProjectsVar, optionalStringVar } from "@hookstream/config";
import { DEFAULT_RETRY, type HandlerName, handlerServiceName, type RetryPolicy } from "@hookstream/contracts";
import { type ServiceConfig, serviceConfigSchema } from "@hookstream/runtime";
import { z } from "zod";

/**
 * A domain handler's own variables; the common, database and admin ones and its
 * port and host (FINE_TUNING_HANDLER_PORT, …) come from the runtime and the catalog.
 */
export const handlerEnv = {
  /** enrichment through the OpenAI API; without a key the webhook alone is used (the project `default`) */
  OPENAI_API_KEY: optionalStringVar(),
  /** several OpenAI projects, each enriched with its own key: JSON, or `@file.json` (docs/openai-projects.md) */
  OPENAI_PROJECTS: openaiProjectsVar(),
  OPENAI_BASE_URL: optionalStringVar().pipe(z.url().optional()),
  OPENAI_TIMEOUT_MS: intVar(10_000, { min: 100 }),
  HANDLER_MAX_DELIVER: intVar(DEFAULT_RETRY.maxDeliver, { min: 1 }),
  HANDLER_ACK_WAIT_MS: intVar(DEFAULT_RETRY.ackWaitMs, { min: 100 }),
  HANDLER_BASE_DELAY_MS: intVar(DEFAULT_RETRY.baseDelayMs, { min: 1 }),
  HANDLER_MAX_DELAY_MS: intVar(DEFAULT_RETRY.maxDelayMs, { min: 1 }),
  /**
   * events one instance works on at once. A handler mostly waits (the OpenAI API, the
   * inbox's commits, JetStream's acks): at 8, an instance whose OpenAI calls take 300 ms
   * did at most ~25 events/s, and a busy machine's slower commits capped it below the
   * soak's 200 events/s across three handlers
   */
  HANDLER_CONCURRENCY: intVar(32, { min: 1, max: 1000 }),
};

export type HandlerConfig = ServiceConfig<typeof handlerEnv>;

/** The schema of a handler service's environment, by its handler (or its port variable, as before). */
export function handlerConfigSchema(handler: HandlerName | string, _defaultPort?: number) {
  const name = handler.endsWith("_PORT")
    ? handlerServiceOfPortVar(handler)
    : handlerServiceName(handler as HandlerName);
  return serviceConfigSchema(name, handlerEnv);
}

function handlerServiceOfPortVar(portVar: string) {
  const handler = portVar
    .replace(/_HANDLER_PORT$/, "")
    .toLowerCase()
    .replaceAll("_", "-");
  return handlerServiceName(handler as HandlerName);
}

/** The retry policy of the events and replay durables, from HANDLER_* (the catalog's defaults). */
export function retryPolicyOf(config: HandlerConfig): RetryPolicy {
  return {
    maxDeliver: config.HANDLER_MAX_DELIVER,
    ackWaitMs: config.HANDLER_ACK_WAIT_MS,
    baseDelayMs: config.HANDLER_BASE_DELAY_MS,
    maxDelayMs: config.HANDLER_MAX_DELAY_MS,
  };
}
