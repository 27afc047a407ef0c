import { z } from "zod";
import { secretKey, weakKeyProblem } from "./standardWebhooks";

/**
 * OpenAI projects (docs/openai-projects.md): OpenAI configures webhooks per project,
 * each endpoint with its own signing secret, and API keys are scoped to a project. One
 * gateway takes the webhooks of several projects; the project an event came from
 * travels with it (`Openai-Project` header) and picks the key a handler enriches with.
 */

/** A project's name is a subject token and a URL path segment: `POST /webhooks/openai/<name>`. */
export const OPENAI_PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The project `OPENAI_WEBHOOK_SECRET` + `OPENAI_API_KEY` form when `OPENAI_PROJECTS` is unset. */
export const DEFAULT_OPENAI_PROJECT = "default";

/** An environment variable's name (`apiKeyEnv`): the key itself never sits in the JSON. */
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * One entry of `OPENAI_PROJECTS`. `secrets` are the project's webhook signing secrets,
 * all active at once (rotation: any may match), read as the openai SDK reads them
 * (`whsec_` + base64, or the text itself). The API key is named, never written here:
 * `apiKeyEnv` (a variable of the handler's environment) or `apiKeyFile` (a mounted
 * secret); neither means the project's events are handled from the webhook alone.
 */
export const OpenAIProject = z
  .strictObject({
    name: z
      .string()
      .regex(
        OPENAI_PROJECT_NAME_PATTERN,
        "lowercase letters, digits, '_' and '-' (at most 64, starting with a letter or digit), e.g. \"research\"",
      ),
    secrets: z.array(z.string().min(1, "an empty secret")).min(1, "at least one secret is needed"),
    apiKeyEnv: z
      .string()
      .regex(ENV_NAME_PATTERN, 'the name of an environment variable, e.g. "OPENAI_API_KEY_RESEARCH"')
      .optional(),
    apiKeyFile: z.string().min(1, "an empty path").optional(),
    /** the project's own OPENAI_BASE_URL (default: the handler's OPENAI_BASE_URL, else the SDK's) */
    baseUrl: z.url("must be a URL, e.g. https://api.openai.com/v1").optional(),
  })
  .superRefine((p, ctx) => {
    p.secrets.forEach((secret, i) => {
      // its place and length, never its text
      const weak = secret.length > 0 ? weakKeyProblem(secretKey(secret)) : null;
      if (weak) ctx.addIssue({ code: "custom", path: ["secrets", i], message: weak });
    });
    if (p.apiKeyEnv !== undefined && p.apiKeyFile !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["apiKeyFile"],
        message: "give apiKeyEnv or apiKeyFile, not both",
      });
    }
  });
export type OpenAIProject = z.infer<typeof OpenAIProject>;

/**
 * The whole `OPENAI_PROJECTS` list: at least one project, unique names, and no secret
 * in two projects (the unpinned URL could not tell whose event it is). No message
 * ever holds a secret: a repeated one is named by its place in both lists.
 */
export const OpenAIProjects = z
  .array(OpenAIProject)
  .min(1, "at least one project is needed (or leave OPENAI_PROJECTS unset)")
  .superRefine((list, ctx) => {
    const names = new Set<string>();
    const owners = new Map<string, string>();
    list.forEach((p, i) => {
      if (names.has(p.name)) {
        ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${p.name}" appears twice` });
      }
      names.add(p.name);
      p.secrets.forEach((secret, j) => {
        const owner = owners.get(secret);
        if (owner !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [i, "secrets", j],
            message: `the same secret as ${owner}: each project signs with its own`,
          });
        } else owners.set(secret, `"${p.name}" secrets[${j}]`);
      });
    });
  });
export type OpenAIProjects = z.infer<typeof OpenAIProjects>;
