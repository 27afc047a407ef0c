import { parseArgs } from "node:util";
import { FineTuneJobDetail, FineTuneJobPage } from "@hookstream/contracts";
import { CliError, type Command } from "../command";
import { unreachable } from "../httpErrors";

function baseUrl(env: NodeJS.ProcessEnv): string {
  return (env.HOOKSTREAM_FINE_TUNE_URL || "http://127.0.0.1:3005").replace(/\/+$/, "");
}

async function getJson(
  env: NodeJS.ProcessEnv,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${baseUrl(env)}${path}`;
  let res: Response;
  try {
    // the job API asks for the admin token unless the service runs with FINE_TUNE_API_PUBLIC=true
    const headers: Record<string, string> = env.ADMIN_TOKEN
      ? { authorization: `Bearer ${env.ADMIN_TOKEN}` }
      : {};
    res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw unreachable("the fine-tune service", baseUrl(env), err);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

export const jobs: Command = {
  name: "jobs",
  usage:
    "hookstream jobs [--status S] [--model M] [--project P] [--limit N] [--json]\n  Lists fine_tune_jobs through the fine-tune service ($HOOKSTREAM_FINE_TUNE_URL).\n  --project   only one OpenAI project's jobs (OPENAI_PROJECTS)",
  async run(args, ctx) {
    let v: { status?: string; model?: string; project?: string; limit?: string; json?: boolean };
    try {
      v = parseArgs({
        args,
        options: {
          status: { type: "string" },
          model: { type: "string" },
          project: { type: "string" },
          limit: { type: "string" },
          json: { type: "boolean" },
        },
      }).values;
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
    const qs = new URLSearchParams();
    if (v.status) qs.set("status", v.status);
    if (v.model) qs.set("model", v.model);
    if (v.project) qs.set("project", v.project);
    if (v.limit) qs.set("limit", v.limit);
    const { status, body } = await getJson(ctx.env, `/fine-tune-jobs?${qs}`);
    if (status !== 200) throw new CliError(`${status}: ${String(body.message ?? "error")}`);
    const page = FineTuneJobPage.parse(body);
    if (v.json) ctx.out.write(`${JSON.stringify(page, null, 2)}\n`);
    else if (page.data.length === 0) ctx.out.write("no jobs match\n");
    else
      for (const j of page.data) {
        ctx.out.write(
          `${j.id.padEnd(32)} ${j.status.padEnd(16)} ${(j.model ?? "-").padEnd(28)} ${j.fine_tuned_model ?? "-"}\n`,
        );
      }
    return 0;
  },
};

export const job: Command = {
  name: "job",
  usage: "hookstream job <id>\n  Shows the job's row and the snapshots the stream holds for it.",
  async run(args, ctx) {
    const [id] = args;
    if (!id) throw new CliError("a job id is needed: hookstream job ftjob-…", 2);
    const { status, body } = await getJson(ctx.env, `/fine-tune-jobs/${encodeURIComponent(id)}`);
    if (status === 404) throw new CliError(`no fine-tuning job ${id}`);
    if (status !== 200) throw new CliError(`${status}: ${String(body.message ?? "error")}`);
    ctx.out.write(`${JSON.stringify(FineTuneJobDetail.parse(body), null, 2)}\n`);
    return 0;
  },
};

export const projectionsRebuild: Command = {
  name: "projections rebuild",
  usage:
    "hookstream projections rebuild fine-tune\n  Replays FINE_TUNING into a fresh table beside fine_tune_jobs and swaps it in atomically.\n  Calls the fine-tune service ($HOOKSTREAM_FINE_TUNE_URL) with $ADMIN_TOKEN; prints progress.",
  async run(args, ctx) {
    if (args[0] !== "fine-tune")
      throw new CliError("the only projection is fine-tune: hookstream projections rebuild fine-tune", 2);
    const token = ctx.env.ADMIN_TOKEN;
    if (!token) throw new CliError("ADMIN_TOKEN is not set: export the services' ADMIN_TOKEN first");
    const url = `${baseUrl(ctx.env)}/admin/rebuild`;
    let res: Response;
    try {
      res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    } catch (err) {
      throw unreachable("the fine-tune service", baseUrl(ctx.env), err);
    }
    if (!res.ok || !res.body) throw new CliError(`${res.status}: ${await res.text()}`);
    // the service streams one JSON line per progress step, then the result
    let buffered = "";
    let last: Record<string, unknown> = {};
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += Buffer.from(chunk).toString("utf8");
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line) {
          last = JSON.parse(line);
          if (last.phase) ctx.out.write(`${String(last.phase).padEnd(9)} ${last.read}/${last.total}\n`);
        }
        nl = buffered.indexOf("\n");
      }
    }
    if (last.error) throw new CliError(String(last.error));
    ctx.out.write(`rebuilt: ${JSON.stringify(last.result ?? last)}\n`);
    return 0;
  },
};
