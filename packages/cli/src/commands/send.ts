import { parseArgs } from "node:util";
import { DEV_WEBHOOK_SECRET } from "@hookstream/config";
import { eventBody, signWebhook } from "@hookstream/contracts";
import { CliError, type Command } from "../command";
import { unreachable } from "../httpErrors";

const USAGE = `hookstream send <type> [--data JSON] [--id EVENT_ID] [--url URL] [--secret SECRET]
  Signs an event like OpenAI does (Standard Webhooks) and POSTs it to the gateway.
  --data    the event's data object (default {"id":"<generated>"})
  --id      the event id (default evt_<random>); the same id twice is stored once
  --url     default $GATEWAY_URL or http://127.0.0.1:3000/webhooks/openai
  --secret  default the first of $OPENAI_WEBHOOK_SECRET, else the development secret`;

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
    const secret =
      parsed.values.secret ??
      ctx.env.OPENAI_WEBHOOK_SECRET?.split(/[\s,]+/).find((s) => s.length > 0) ??
      DEV_WEBHOOK_SECRET;
    const url = parsed.values.url ?? ctx.env.GATEWAY_URL ?? "http://127.0.0.1:3000/webhooks/openai";
    const body = eventBody(type, { id: parsed.values.id, data });
    const signed = signWebhook(secret, body);
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
