import { readFileSync } from "node:fs";
import { DEV_WEBHOOK_SECRET, openaiProjectsVar, projectsOf } from "@hookstream/config";
import {
  eventBody,
  isKnownEventType,
  KNOWN_EVENT_TYPES,
  OPENAI_PROVIDER,
  PROVIDER_ENVELOPES,
  type ProviderEnvelope,
  signWebhook,
  standardEventBody,
  standardSecret,
  type WebhookProvider,
  WebhookProviders,
} from "@hookstream/contracts";
import { CliError, type Command, parseOptions } from "../command";
import { unreachable } from "../httpErrors";
import { didYouMean } from "../suggest";
import { json } from "../table";

const USAGE = `hookstream send <type> [--data JSON] [--id EVENT_ID] [--url URL] [--secret SECRET]
                       [--provider NAME] [--envelope openai|standard] [--project NAME] [--json]
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
  --url       the gateway: a base URL (http://127.0.0.1:3000, /webhooks/<provider> is added)
              or the full route; default $GATEWAY_URL, else http://127.0.0.1:3000
  --secret    default the provider's first secret; for openai the first of
              $OPENAI_WEBHOOK_SECRET, else the development secret (said on stderr)
  --json      the gateway's answer as JSON: { "status": <HTTP status>, "body": <its JSON> }
  A type OpenAI does not send is still sent (and audited as ignored), with a warning.`;

export const send: Command = {
  name: "send",
  usage: USAGE,
  async run(args, ctx) {
    const parsed = parseOptions(
      args,
      {
        data: { type: "string" },
        id: { type: "string" },
        url: { type: "string" },
        secret: { type: "string" },
        provider: { type: "string" },
        envelope: { type: "string" },
        project: { type: "string" },
        json: { type: "boolean" },
      },
      USAGE,
    );
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
    if (provider === OPENAI_PROVIDER && !isKnownEventType(type)) {
      ctx.err.write(
        `warning: "${type}" is not an event type OpenAI sends.${didYouMean(type, KNOWN_EVENT_TYPES)} ` +
          "The gateway takes it and the audit records it as ignored: no handler runs.\n",
      );
    }
    let secret = parsed.values.secret;
    if (secret === undefined && project !== undefined) secret = projectSecret(ctx.env, project);
    let devSecret = false;
    if (secret === undefined && provider === OPENAI_PROVIDER) {
      secret = ctx.env.OPENAI_WEBHOOK_SECRET?.split(/[\s,]+/).find((s) => s.length > 0);
      if (secret === undefined) {
        secret = DEV_WEBHOOK_SECRET;
        devSecret = true;
        ctx.err.write(
          "note: signed with the development secret (OPENAI_WEBHOOK_SECRET is not set for the CLI), which a gateway accepts only while it runs without OPENAI_WEBHOOK_SECRET\n",
        );
      }
    }
    secret ??= spec?.secrets[0];
    if (secret === undefined) {
      throw new CliError(
        `no secret for provider "${provider}": pass --secret, or list it in WEBHOOK_PROVIDERS`,
        2,
      );
    }
    const url = gatewayUrl(parsed.values.url ?? ctx.env.GATEWAY_URL, provider, project);
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
    if (parsed.values.json) ctx.out.write(json({ status: res.status, body: parseJson(text) }));
    else ctx.out.write(`${res.status} ${text}\n`);
    if (res.status === 401 && devSecret) {
      ctx.err.write(
        "the gateway refused the development secret: it runs with OPENAI_WEBHOOK_SECRET set. Export the same secret for the CLI, or pass --secret\n",
      );
    } else if (res.status === 404 && !parsed.values.url && !ctx.env.GATEWAY_URL) {
      ctx.err.write(`nothing at ${url}: is GATEWAY_URL (or --url) the gateway's address?\n`);
    }
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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
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

/**
 * The route of a provider (or of an OpenAI project, `/webhooks/openai/<project>`) from
 * $GATEWAY_URL: a base URL (`http://127.0.0.1:13000`, what `npm start` writes) gets
 * the route appended; a full route (`…/webhooks/openai`, as it was once documented)
 * has it replaced.
 */
export function gatewayUrl(configured: string | undefined, provider: string, project?: string): string {
  const given = configured?.trim() || "http://127.0.0.1:3000";
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new CliError(`GATEWAY_URL "${given}" is not a URL, e.g. http://127.0.0.1:3000`, 2);
  }
  const base = url.pathname.replace(/\/+$/, "").replace(/\/webhooks(\/.*)?$/, "");
  const route =
    project === undefined
      ? `webhooks/${provider}`
      : `webhooks/${OPENAI_PROVIDER}/${encodeURIComponent(project)}`;
  url.pathname = `${base}/${route}`;
  return url.toString();
}
