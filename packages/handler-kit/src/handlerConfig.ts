import {
  commonEnv,
  databaseEnv,
  intVar,
  optionalStringVar,
  portVar,
  stringVar,
  urlListVar,
} from "@hookstream/config";
import { DEFAULT_RETRY } from "@hookstream/contracts";
import { z } from "zod";

/** The environment of a domain handler service; `portVar` names its port variable. */
export function handlerConfigSchema(portVarName: string, defaultPort: number) {
  return z.object({
    ...commonEnv,
    ...databaseEnv,
    [portVarName]: portVar(defaultPort),
    HTTP_HOST: stringVar("0.0.0.0"),
    /** enrichment through the OpenAI API; without a key the webhook alone is used */
    OPENAI_API_KEY: optionalStringVar(),
    OPENAI_BASE_URL: optionalStringVar().pipe(z.url().optional()),
    OPENAI_TIMEOUT_MS: intVar(10_000, { min: 100 }),
    /** where notifications go, separated by commas or spaces */
    NOTIFY_URLS: urlListVar([]),
    NOTIFY_TIMEOUT_MS: intVar(5_000, { min: 100 }),
    /** fine-tuning only: POSTed `{ job_id, fine_tuned_model }` when a job succeeds */
    DEPLOY_HOOK_URL: optionalStringVar().pipe(z.url().optional()),
    HANDLER_MAX_DELIVER: intVar(DEFAULT_RETRY.maxDeliver, { min: 1 }),
    HANDLER_ACK_WAIT_MS: intVar(DEFAULT_RETRY.ackWaitMs, { min: 100 }),
    HANDLER_BASE_DELAY_MS: intVar(DEFAULT_RETRY.baseDelayMs, { min: 1 }),
    HANDLER_MAX_DELAY_MS: intVar(DEFAULT_RETRY.maxDelayMs, { min: 1 }),
    HANDLER_CONCURRENCY: intVar(8, { min: 1, max: 1000 }),
  });
}

export type HandlerConfig = z.infer<ReturnType<typeof handlerConfigSchema>> & Record<string, unknown>;
