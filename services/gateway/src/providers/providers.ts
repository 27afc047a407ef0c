import { type ProjectSources, projectsOf } from "@hookstream/config";
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
  /**
   * OpenAI only: the project of each key (`keyProjects[i]` signs with `keys[i]`), which
   * goes with the event as its `Openai-Project` header (OPENAI_PROJECTS).
   */
  keyProjects?: string[];
}

/** OpenAI with its projects: `/webhooks/openai` tries every project's keys, a pinned URL one project's. */
export interface OpenAIRoutes {
  /** every project's keys: the project is the one whose key verifies */
  all: Provider;
  /** `POST /webhooks/openai/<project>`: that project's keys only */
  byProject: Map<string, Provider>;
}

export interface ProviderSources extends ProjectSources {
  /** OpenAI's secrets (the `default` project when OPENAI_PROJECTS is unset), separated by commas or spaces */
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

/**
 * OpenAI's routes from its projects (OPENAI_PROJECTS, else `default` of
 * OPENAI_WEBHOOK_SECRET): one key list over every project, each key knowing its
 * project, and one per project for its pinned URL.
 */
export function openaiRoutes(config: ProviderSources, topology: Topology): OpenAIRoutes {
  const base = {
    name: OPENAI_PROVIDER,
    envelope: "openai" as const,
    toleranceSec: config.WEBHOOK_TOLERANCE_SEC,
    subjectPrefix: providerEventSubject(topology, OPENAI_PROVIDER, ""),
  };
  const byProject = new Map<string, Provider>();
  for (const project of projectsOf(config)) {
    const keys = decodeSecrets(project.secrets);
    byProject.set(project.name, { ...base, keys, keyProjects: keys.map(() => project.name) });
  }
  const projects = [...byProject.values()];
  return {
    all: {
      ...base,
      keys: projects.flatMap((p) => p.keys),
      keyProjects: projects.flatMap((p) => p.keyProjects ?? []),
    },
    byProject,
  };
}

/** Every provider by name: `openai` (always, every project's keys) and the configured ones. */
export function providerTable(
  config: ProviderSources,
  topology: Topology,
  openai: OpenAIRoutes = openaiRoutes(config, topology),
): Map<string, Provider> {
  const table = new Map<string, Provider>();
  const subjectPrefix = (name: string) => providerEventSubject(topology, name, "");
  table.set(OPENAI_PROVIDER, openai.all);
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
