import { jsonListVar } from "@hookstream/config";
import { WebhookProviders } from "@hookstream/contracts";

/**
 * `WEBHOOK_PROVIDERS`: a JSON array of providers, or `@path/to/file.json` holding one
 * (a file keeps secrets out of the process list and suits a mounted Secret). Unset or
 * empty: no sender besides OpenAI. Every problem names its field, e.g.
 * `WEBHOOK_PROVIDERS: [1] "acme" envelope: Invalid option: expected one of "openai"|"standard"`.
 */
export function providersVar() {
  return jsonListVar(WebhookProviders, {
    shape: "a list of { name, secrets, envelope, toleranceSec? }",
    empty: "empty list",
    names: "any",
  });
}
