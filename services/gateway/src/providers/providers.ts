import {
  OPENAI_PROVIDER,
  type ProviderEnvelope,
  providerEventSubject,
  type Topology,
  type WebhookProviders,
} from "@hookstream/contracts";
import { decodeSecrets } from "../verifySignature";

/** A sender the gateway accepts at `POST /webhooks/<name>`, ready for the hot path. */
export interface Provider {
  name: string;
  envelope: ProviderEnvelope;
  /** the decoded keys of every active secret (rotation) */
  keys: Buffer[];
  toleranceSec: number;
  /** `webhooks.<name>.`: the event type is appended */
  subjectPrefix: string;
}

export interface ProviderSources {
  /** OpenAI's secrets, separated by commas or spaces */
  OPENAI_WEBHOOK_SECRET: string;
  /** the default tolerance, OpenAI's and any provider's without its own */
  WEBHOOK_TOLERANCE_SEC: number;
  WEBHOOK_PROVIDERS?: WebhookProviders | undefined;
}

/**
 * A Standard Webhooks secret is base64, with or without `whsec_` (what the
 * `standardwebhooks` and `svix` libraries read); OpenAI's follow its SDK (decodeSecrets).
 */
export function decodeStandardSecrets(secrets: readonly string[]): Buffer[] {
  return secrets.map((s) => Buffer.from(s.startsWith("whsec_") ? s.slice(6) : s, "base64"));
}

/** Every provider by name: `openai` (always) and the configured ones. */
export function providerTable(config: ProviderSources, topology: Topology): Map<string, Provider> {
  const table = new Map<string, Provider>();
  const subjectPrefix = (name: string) => providerEventSubject(topology, name, "");
  table.set(OPENAI_PROVIDER, {
    name: OPENAI_PROVIDER,
    envelope: "openai",
    keys: decodeSecrets(config.OPENAI_WEBHOOK_SECRET),
    toleranceSec: config.WEBHOOK_TOLERANCE_SEC,
    subjectPrefix: subjectPrefix(OPENAI_PROVIDER),
  });
  for (const p of config.WEBHOOK_PROVIDERS ?? []) {
    table.set(p.name, {
      name: p.name,
      envelope: p.envelope,
      keys: p.envelope === "standard" ? decodeStandardSecrets(p.secrets) : decodeSecrets(p.secrets.join(" ")),
      toleranceSec: p.toleranceSec ?? config.WEBHOOK_TOLERANCE_SEC,
      subjectPrefix: subjectPrefix(p.name),
    });
  }
  return table;
}
