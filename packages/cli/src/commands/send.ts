import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEV_WEBHOOK_SECRET, openaiProjectsVar, projectsOf } from "@hookstream/config";
import {
  eventBody,
  OPENAI_PROVIDER,
  PROVIDER_ENVELOPES,
  type ProviderEnvelope,
  signWebhook,
  standardEventBody,
  standardSecret,
  type WebhookProvider,
  WebhookProviders,
} from "@hookstream/contracts";
import { CliError, type Command } from "../command";
import { unreachable } from "../httpErrors";

const USAGE = `hookstream send <type> [--data JSON] [--id EVENT_ID] [--url URL] [--secret SECRET]
                       [--provider NAME] [--envelope openai|standard] [--project NAME]
  Signs an event like OpenAI does (Standard Webhooks) and POSTs it to the gateway.
  --data      the event's data object (default {"id":"<generated>"}; {} for a standard envelope)
  --id        the event id (default evt_<random>; for a standard envelope, the webhook-id);
              the same id twice is stored once
  --provider  the sender (default openai): POSTs to /webhooks/<NAME>, signed with its first
              secret in $WEBHOOK_PROVIDERS (JSON or @file) and in its envelope
  --envelope  the body's shape: openai ({ id, type, created_at, data }) or standard
              ({ type, timestamp, data }; the default for a provider not in $WEBHOOK_PROVIDERS)
  --project   an OpenAI project: signed with its first secret in $OPENAI_PROJECTS (JSON or
              @file; "default" is $OPENAI_WEBHOOK_SECRET's without it) and POSTed to its pinned
              URL /webhooks/openai/<NAME>
  --url       default $GATEWAY_URL or http://127.0.0.1:3000/webhooks/<provider>
  --secret    default the provider's first secret; for openai the first of
              $OPENAI_WEBHOOK_SECRET, else the development secret`;

export const send: Command = {
  name: "send",
  usage: USAGE,
  async run(args, ctx) {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
    const OPTIONS = {
      data: { type: "string" },
      id: { type: "string" },
      url: { type: "string" },
      secret: { type: "string" },
      provider: { type: "string" },
      envelope: { type: "string" },
      project: { type: "string" },
    } as const;
    try {
      parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true });
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n${USAGE}`, 2);
    }
    const [type] = parsed.positionals;
    if (!type) throw new CliError(`an event type is needed, e.g. fine_tuning.job.succeeded\n${USAGE}`, 2);
    let data: Record<string, unknown> | undefined;
    if (parsed.values.data !== undefined) {
      try {
        data = JSON.parse(parsed.values.data);
      } catch (err) {
        throw new CliError(`--data is not JSON: ${(err as Error).message}`, 2);
      }
      if (typeof data !== "object" || data === null || Array.isArray(data))
        throw new CliError("--data must be a JSON object", 2);
    }
    const provider = parsed.values.provider ?? OPENAI_PROVIDER;
    const project = parsed.values.project;
    if (project !== undefined && provider !== OPENAI_PROVIDER)
      throw new CliError("--project is for OpenAI events: leave --provider out", 2);
    const spec = provider === OPENAI_PROVIDER ? undefined : configuredProvider(ctx.env, provider);
    const envelope =
      envelopeOf(parsed.values.envelope) ??
      spec?.envelope ??
      (provider === OPENAI_PROVIDER ? "openai" : "standard");
    const standard = envelope === "standard";
    let secret = parsed.values.secret;
    if (secret === undefined && project !== undefined) secret = projectSecret(ctx.env, project);
    if (secret === undefined && provider === OPENAI_PROVIDER) {
      secret = ctx.env.OPENAI_WEBHOOK_SECRET?.split(/[\s,]+/).find((s) => s.length > 0) ?? DEV_WEBHOOK_SECRET;
    }
    secret ??= spec?.secrets[0];
    if (secret === undefined) {
      throw new CliError(
        `no secret for provider "${provider}": pass --secret, or list it in WEBHOOK_PROVIDERS`,
        2,
      );
    }
    const url = parsed.values.url ?? gatewayUrl(ctx.env.GATEWAY_URL, provider, project);
    // a Standard Webhooks secret is base64 with or without whsec_ (the libraries' reading)
    const body = standard
      ? standardEventBody(type, { data })
      : eventBody(type, { id: parsed.values.id, data });
    const signed = standard
      ? signWebhook(standardSecret(secret), body, { webhookId: parsed.values.id })
      : signWebhook(secret, body);
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: signed.headers,
        body,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw unreachable("the gateway", url, err);
    }
    const text = await res.text();
    ctx.out.write(`${res.status} ${text}\n`);
    return res.ok ? 0 : 1;
  },
};

function envelopeOf(value: string | undefined): ProviderEnvelope | undefined {
  if (value === undefined) return undefined;
  if ((PROVIDER_ENVELOPES as readonly string[]).includes(value)) return value as ProviderEnvelope;
  throw new CliError(`--envelope must be one of ${PROVIDER_ENVELOPES.join(", ")}`, 2);
}

/** The provider as the gateway is configured ($WEBHOOK_PROVIDERS: JSON or @file), if listed. */
function configuredProvider(env: NodeJS.ProcessEnv, name: string): WebhookProvider | undefined {
  const raw = env.WEBHOOK_PROVIDERS?.trim();
  if (!raw) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(raw.startsWith("@") ? readFileSync(raw.slice(1), "utf8") : raw);
  } catch (err) {
    throw new CliError(`WEBHOOK_PROVIDERS: ${(err as Error).message}`, 2);
  }
  const parsed = WebhookProviders.safeParse(list);
  if (!parsed.success) {
    throw new CliError(
      `WEBHOOK_PROVIDERS: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      2,
    );
  }
  return parsed.data.find((p) => p.name === name);
}

/**
 * The first secret of an OpenAI project: its entry in $OPENAI_PROJECTS (JSON or @file),
 * or, without that variable, `default`'s from $OPENAI_WEBHOOK_SECRET (else the
 * development secret). A problem never quotes the list: it holds secrets.
 */
function projectSecret(env: NodeJS.ProcessEnv, name: string): string {
  const parsed = openaiProjectsVar().safeParse(env.OPENAI_PROJECTS);
  if (!parsed.success)
    throw new CliError(`OPENAI_PROJECTS: ${parsed.error.issues.map((i) => i.message).join("; ")}`, 2);
  const projects = projectsOf({
    OPENAI_PROJECTS: parsed.data,
    OPENAI_WEBHOOK_SECRET: env.OPENAI_WEBHOOK_SECRET || DEV_WEBHOOK_SECRET,
  });
  const secret = projects.find((p) => p.name === name)?.secrets[0];
  if (secret === undefined) {
    const names = projects.map((p) => p.name).join(", ");
    throw new CliError(`no OpenAI project "${name}" in OPENAI_PROJECTS (there: ${names})`, 2);
  }
  return secret;
}

/** $GATEWAY_URL names the OpenAI route: another provider's is its sibling, a project's its child. */
function gatewayUrl(configured: string | undefined, provider: string, project?: string): string {
  const base = configured ?? "http://127.0.0.1:3000/webhooks/openai";
  if (project !== undefined)
    return `${base.replace(/\/webhooks\/.*$/, "/webhooks/openai")}/${encodeURIComponent(project)}`;
  return provider === OPENAI_PROVIDER ? base : base.replace(/\/webhooks\/[^/]*$/, `/webhooks/${provider}`);
}
