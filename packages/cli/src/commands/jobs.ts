import {
  type FineTuneJobDetail,
  FineTuneJobPage,
  FineTuneJobDetail as JobDetail,
  JobListQuery,
} from "@hookstream/contracts";
import { NO_ADMIN_TOKEN } from "../adminClient";
import { CliError, type Command, checkRequest, parseOptions } from "../command";
import { unreachable } from "../httpErrors";
import { json, table } from "../table";

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

const JOBS_USAGE = `hookstream jobs [--status S] [--model M] [--project P] [--limit N] [--json]
  Lists fine_tune_jobs through the fine-tune service ($HOOKSTREAM_FINE_TUNE_URL), newest first.
  --project   only one OpenAI project's jobs (OPENAI_PROJECTS)`;

/** The job API's error in a sentence; a 401/403 names the token it wants. */
function refusal(status: number, body: Record<string, unknown>): CliError {
  const message = String(body.message ?? "error");
  if (status === 401 || status === 403)
    return new CliError(
      `refused by the job API (${status}): ${message}; set ADMIN_TOKEN (npm start writes it to .hookstream/dev.env)`,
    );
  if (status === 503) return new CliError(`the job API is unavailable (503): ${message}`);
  return new CliError(`${status}: ${message}`);
}

export const jobs: Command = {
  name: "jobs",
  usage: JOBS_USAGE,
  async run(args, ctx) {
    const { values: v } = parseOptions(
      args,
      {
        status: { type: "string" },
        model: { type: "string" },
        project: { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean" },
      },
      JOBS_USAGE,
    );
    // the job API's own schema: a filter it would refuse is a usage error here
    checkRequest(
      JobListQuery,
      { status: v.status, model: v.model, project: v.project, limit: v.limit },
      JOBS_USAGE,
    );
    const qs = new URLSearchParams();
    if (v.status) qs.set("status", v.status);
    if (v.model) qs.set("model", v.model);
    if (v.project) qs.set("project", v.project);
    if (v.limit) qs.set("limit", v.limit);
    const { status, body } = await getJson(ctx.env, `/fine-tune-jobs?${qs}`);
    if (status !== 200) throw refusal(status, body);
    const page = FineTuneJobPage.parse(body);
    if (v.json) ctx.out.write(json(page));
    else if (page.data.length === 0) ctx.out.write("no jobs match\n");
    else
      ctx.out.write(
        table(
          ["job id", "status", "model", "fine-tuned model", "last event"],
          page.data.map((j) => [j.id, j.status, j.model ?? "-", j.fine_tuned_model ?? "-", j.last_event_at]),
        ),
      );
    return 0;
  },
};

function jobText(j: FineTuneJobDetail): string {
  const fields: [string, string][] = [
    ["job", j.id],
    ["status", j.status],
    ["model", j.model ?? "-"],
    ["fine-tuned model", j.fine_tuned_model ?? "-"],
    ["trained tokens", j.trained_tokens === null ? "-" : String(j.trained_tokens)],
    ["created", j.created_at ?? "-"],
    ["finished", j.finished_at ?? "-"],
    ["last event", `${j.last_event_id} at ${j.last_event_at}`],
    ["version", String(j.version)],
  ];
  if (j.error !== null && j.error !== undefined) fields.push(["error", JSON.stringify(j.error)]);
  const width = Math.max(...fields.map(([k]) => k.length));
  const head = fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
  const history = table(
    ["seq", "event id", "type", "status", "source"],
    j.history.map((h) => [String(h.seq), h.event_id, h.event_type, h.status, h.source]),
  );
  return `${head}\n\nhistory (FINE_TUNING, oldest first)\n${history}`;
}

const JOB_USAGE = `hookstream job <id> [--json]
  Shows one fine-tuning job's row and the snapshots the stream holds for it.`;

export const job: Command = {
  name: "job",
  usage: JOB_USAGE,
  async run(args, ctx) {
    const { values, positionals } = parseOptions(args, { json: { type: "boolean" } }, JOB_USAGE);
    const [id] = positionals;
    if (!id) throw new CliError(`a job id is needed, e.g. hookstream job ftjob-1\n${JOB_USAGE}`, 2);
    const { status, body } = await getJson(ctx.env, `/fine-tune-jobs/${encodeURIComponent(id)}`);
    if (status === 404) throw new CliError(`no fine-tuning job ${id}`);
    if (status !== 200) throw refusal(status, body);
    const detail = JobDetail.parse(body);
    ctx.out.write(values.json ? json(detail) : jobText(detail));
    return 0;
  },
};

const REBUILD_USAGE =
  "hookstream projections rebuild fine-tune [--json]\n  Replays FINE_TUNING into a fresh table beside fine_tune_jobs and swaps it in atomically.\n  Calls the fine-tune service ($HOOKSTREAM_FINE_TUNE_URL) with $ADMIN_TOKEN; prints progress\n  (--json: each progress line and the result as JSON lines).";

export const projectionsRebuild: Command = {
  name: "projections rebuild",
  usage: REBUILD_USAGE,
  async run(args, ctx) {
    const { values, positionals } = parseOptions(args, { json: { type: "boolean" } }, REBUILD_USAGE);
    if (positionals[0] !== "fine-tune")
      throw new CliError(
        `the only projection is fine-tune: hookstream projections rebuild fine-tune\n${REBUILD_USAGE}`,
        2,
      );
    const token = ctx.env.ADMIN_TOKEN;
    if (!token) throw new CliError(NO_ADMIN_TOKEN);
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
          if (values.json) ctx.out.write(`${line}\n`);
          else if (last.phase) ctx.out.write(`${String(last.phase).padEnd(9)} ${last.read}/${last.total}\n`);
        }
        nl = buffered.indexOf("\n");
      }
    }
    if (last.error) throw new CliError(String(last.error));
    if (!values.json) ctx.out.write(`rebuilt: ${JSON.stringify(last.result ?? last)}\n`);
    return 0;
  },
};
