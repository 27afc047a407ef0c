import { type ProjectConfig, projectKey, projectsOf } from "@hookstream/config";
import { DEFAULT_OPENAI_PROJECT } from "@hookstream/contracts";
import { tracedFetch } from "@hookstream/observability";
import type OpenAI from "openai";
import type { HandlerConfig } from "./handlerConfig";

/** The client an event is enriched with: its project's, or none and why. */
export interface ProjectClient {
  /** the event's project; null when the event names none and no project is `default` */
  project: string | null;
  /** null: the event is handled from the webhook alone */
  client: OpenAI | null;
  /** why there is no client (said in the event's outcome); null when there is one */
  reason: string | null;
  /** where the project's key comes from (`OPENAI_API_KEY_RESEARCH`, a file), for "check project X's key" */
  keySource: string | null;
}

/** One OpenAI client per project (OPENAI_PROJECTS, else `default` of OPENAI_API_KEY). */
export interface OpenAIClients {
  /** the client of an event's project (its `Openai-Project` header; undefined: none) */
  forProject(project: string | undefined): ProjectClient;
  /** every project with the reason it has no key, for the start's log */
  withoutKey(): Array<{ project: string; reason: string }>;
}

function keySourceOf(p: ProjectConfig): string {
  if (p.implicit !== undefined) return "OPENAI_API_KEY";
  return p.apiKeyEnv ?? p.apiKeyFile ?? "no key configured";
}

/**
 * Builds a client for each project with a key. An event without a project header
 * (published before projects were recorded) goes to the project named `default`, if
 * any: without OPENAI_PROJECTS that is OPENAI_API_KEY's, exactly as before. The SDK is
 * loaded only when some project has a key: it is a fair part of an idle heap.
 */
export async function createOpenAIClients(
  config: HandlerConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenAIClients> {
  const table = new Map<string, ProjectClient>();
  const projects = projectsOf(config);
  const keys = projects.map((p) => projectKey(p, env));
  const Sdk = keys.some((k) => k.key !== null) ? (await import("openai")).default : null;
  projects.forEach((p, i) => {
    const { key, reason } = keys[i] as (typeof keys)[number];
    const client =
      key !== null && Sdk !== null
        ? new Sdk({
            apiKey: key,
            baseURL: p.baseUrl ?? config.OPENAI_BASE_URL,
            timeout: config.OPENAI_TIMEOUT_MS,
            // our own nak backoff retries, visibly and durably; the SDK's in-process retries would hide them
            maxRetries: 0,
            // each call a CLIENT span of the event's trace, with traceparent on the request
            fetch: tracedFetch,
          })
        : null;
    table.set(p.name, { project: p.name, client, reason, keySource: keySourceOf(p) });
  });
  return {
    forProject(project) {
      const name = project ?? DEFAULT_OPENAI_PROJECT;
      const found = table.get(name);
      if (found) return found;
      const reason =
        project === undefined
          ? "the event names no OpenAI project (no Openai-Project header) and no project is named default"
          : `project ${project} is not in this handler's OPENAI_PROJECTS`;
      return { project: project ?? null, client: null, reason, keySource: null };
    },
    withoutKey: () =>
      [...table.values()].flatMap((c) =>
        c.reason !== null && c.project !== null ? [{ project: c.project, reason: c.reason }] : [],
      ),
  };
}
