import { readFileSync } from "node:fs";
import { DEFAULT_OPENAI_PROJECT, type OpenAIProject, OpenAIProjects } from "@hookstream/contracts";
import { jsonListVar } from "./jsonListVar";

/**
 * `OPENAI_PROJECTS`: a JSON list of projects, or `@path/to/file.json` holding one
 * (docs/openai-projects.md). Unset: undefined, and `OPENAI_WEBHOOK_SECRET` +
 * `OPENAI_API_KEY` form the project `default`. Read by the gateway (secrets) and the
 * handlers (keys); a bad list stops either at start naming every problem, and no
 * problem ever quotes the text (it holds secrets).
 */
export function openaiProjectsVar() {
  return jsonListVar(OpenAIProjects, {
    shape: "a list of { name, secrets, apiKeyEnv? | apiKeyFile?, baseUrl? }",
    empty: "undefined",
    names: "valid",
  });
}

/** A project as a service uses it; the `default` one carries OPENAI_API_KEY's value itself. */
export type ProjectConfig = OpenAIProject & {
  /**
   * Set for the `default` project made of OPENAI_WEBHOOK_SECRET and OPENAI_API_KEY:
   * its key is OPENAI_API_KEY as the service parsed it (or none), never looked up again.
   */
  implicit?: { apiKey: string | undefined };
};

export interface ProjectSources {
  OPENAI_PROJECTS?: OpenAIProjects | undefined;
  /** the `default` project's secrets, separated by commas or spaces (the gateway) */
  OPENAI_WEBHOOK_SECRET?: string;
  /** the `default` project's key (the handlers) */
  OPENAI_API_KEY?: string | undefined;
}

/** The projects of a service: OPENAI_PROJECTS, else `default` from OPENAI_WEBHOOK_SECRET and OPENAI_API_KEY. */
export function projectsOf(config: ProjectSources): ProjectConfig[] {
  if (config.OPENAI_PROJECTS !== undefined) return config.OPENAI_PROJECTS;
  const secrets = (config.OPENAI_WEBHOOK_SECRET ?? "").split(/[\s,]+/).filter((s) => s.length > 0);
  return [
    {
      name: DEFAULT_OPENAI_PROJECT,
      secrets,
      implicit: { apiKey: config.OPENAI_API_KEY || undefined },
    },
  ];
}

/** A project's API key, or why it has none (said in the outcome of each event handled without it). */
export type ProjectKey = { key: string; reason: null } | { key: null; reason: string };

/**
 * Reads a project's key where its entry says: `apiKeyEnv` from `env`, `apiKeyFile`
 * from disk (trimmed). No key is no error: the project's events are handled from the
 * webhook alone, and the reason goes into their outcomes.
 */
export function projectKey(
  project: ProjectConfig,
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): ProjectKey {
  const none = (why: string): ProjectKey => ({
    key: null,
    reason: `project ${project.name} has no API key (${why})`,
  });
  if (project.implicit !== undefined) {
    const key = project.implicit.apiKey;
    return key ? { key, reason: null } : none("OPENAI_API_KEY is not set");
  }
  if (project.apiKeyEnv !== undefined) {
    const key = env[project.apiKeyEnv]?.trim();
    return key ? { key, reason: null } : none(`${project.apiKeyEnv} is not set`);
  }
  if (project.apiKeyFile !== undefined) {
    let key: string;
    try {
      key = readFile(project.apiKeyFile).trim();
    } catch (err) {
      return none(
        `cannot read ${project.apiKeyFile}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
      );
    }
    return key ? { key, reason: null } : none(`${project.apiKeyFile} is empty`);
  }
  return none("its entry in OPENAI_PROJECTS names no apiKeyEnv or apiKeyFile");
}
