import {
  FINE_TUNE_STATUSES,
  FineTuneJobDetail,
  FineTuneJobPage,
  type FineTuneJobView,
  JobListQuery,
} from "@hookstream/contracts";
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, describe } from "../api";
import { Empty, ErrorBox, Loading, Status, TableHead, TextFilter, Time } from "../parts";
import { Link, navigate } from "../router";

export function JobsPage({ query }: { query: URLSearchParams }) {
  const status = query.get("status") ?? "";
  const model = query.get("model") ?? "";
  const project = query.get("project") ?? "";
  const key = `${status}|${model}|${project}`;
  const [jobs, setJobs] = useState<FineTuneJobView[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [modelInput, setModelInput] = useState(model);
  const [projectInput, setProjectInput] = useState(project);
  const [more, setMore] = useState(false);

  const q = (c?: string) => ({
    status: status || undefined,
    model: model || undefined,
    project: project || undefined,
    limit: "50",
    cursor: c,
  });

  useEffect(() => {
    const abort = new AbortController();
    setJobs(null);
    setError(null);
    call(FineTuneJobPage, "/api/jobs", { query: q(), request: JobListQuery, signal: abort.signal })
      .then((p) => {
        setJobs(p.data);
        setCursor(p.next_cursor);
      })
      .catch((err) => {
        if (!abort.signal.aborted) setError(describe(err));
      });
    return () => abort.abort();
  }, [key, reload]);

  const setFilter = (next: { status?: string; model?: string; project?: string }) => {
    const merged = { status, model, project, ...next };
    const qs = new URLSearchParams();
    if (merged.status) qs.set("status", merged.status);
    if (merged.model) qs.set("model", merged.model.trim());
    if (merged.project) qs.set("project", merged.project.trim());
    const s = qs.toString();
    navigate(s ? `/jobs?${s}` : "/jobs");
  };

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Fine-tuning jobs</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ model: modelInput, project: projectInput });
        }}
      >
        <label>
          Status
          <select value={status} onChange={(e) => setFilter({ status: e.currentTarget.value })}>
            <option value="">any</option>
            {FINE_TUNE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <TextFilter
          label="Model"
          grow
          value={modelInput}
          placeholder="e.g. gpt-4o-mini-2024-07-18"
          onInput={setModelInput}
        />
        <TextFilter
          label="Project"
          value={projectInput}
          placeholder="e.g. research"
          onInput={setProjectInput}
        />
        <div class="filter-actions">
          <button type="submit">Apply</button>
        </div>
      </form>
      {error && <ErrorBox message={error} retry={() => setReload((n) => n + 1)} />}
      {!error && jobs === null && <Loading what="jobs" />}
      {jobs !== null && jobs.length === 0 && (
        <Empty>
          <p>
            No fine-tuning jobs{status || model || project ? " match these filters" : " yet"}. A job appears
            when a <code>fine_tuning.job.*</code> webhook is handled.
          </p>
        </Empty>
      )}
      {jobs !== null && jobs.length > 0 && (
        <div class="table-wrap">
          <table>
            <TableHead
              columns={[
                { label: "Job id" },
                { label: "Status" },
                { label: "Model" },
                { label: "Project", wide: true },
                { label: "Fine-tuned model", wide: true },
                { label: "Created" },
                { label: "Finished", wide: true },
              ]}
            />
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id}>
                  <td class="mono">
                    <Link href={`/jobs/${encodeURIComponent(j.id)}`}>{j.id}</Link>
                  </td>
                  <td>
                    <Status status={j.status} />
                  </td>
                  <td class="mono">{j.model ?? "—"}</td>
                  <td class="wide-only">{j.project ?? "—"}</td>
                  <td class="wide-only mono">{j.fine_tuned_model ?? "—"}</td>
                  <td>
                    <Time iso={j.created_at} />
                  </td>
                  <td class="wide-only">
                    <Time iso={j.finished_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <button
          type="button"
          class="more"
          disabled={more}
          onClick={async () => {
            setMore(true);
            try {
              const p = await call(FineTuneJobPage, "/api/jobs", { query: q(cursor), request: JobListQuery });
              setJobs((j) => [...(j ?? []), ...p.data]);
              setCursor(p.next_cursor);
            } catch (err) {
              setError(describe(err));
            } finally {
              setMore(false);
            }
          }}
        >
          Load older jobs
        </button>
      )}
    </section>
  );
}

export function JobPage({ id }: { id: string }) {
  const [job, setJob] = useState<FineTuneJobDetail | null>(null);
  const [error, setError] = useState<{ message: string; missing: boolean } | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    call(FineTuneJobDetail, `/api/jobs/${encodeURIComponent(id)}`, { signal: abort.signal })
      .then(setJob)
      .catch((err) => {
        if (!abort.signal.aborted)
          setError({
            message: describe(err),
            missing: err instanceof ApiError && err.failure.kind === "not_found",
          });
      });
    return () => abort.abort();
  }, [id, reload]);

  if (error) {
    return (
      <section>
        <h1 class="mono">{id}</h1>
        {error.missing ? (
          <Empty>
            <p>
              No fine-tuning job <code>{id}</code>. <Link href="/jobs">See every job</Link>.
            </p>
          </Empty>
        ) : (
          <ErrorBox message={error.message} retry={() => setReload((n) => n + 1)} />
        )}
      </section>
    );
  }
  if (!job) return <Loading what="the job" />;
  return (
    <section aria-labelledby="job-title">
      <p class="crumbs">
        <Link href="/jobs">Fine-tuning jobs</Link> /
      </p>
      <div class="page-head">
        <h1 id="job-title" class="mono break">
          {job.id}
        </h1>
        <Status status={job.status} />
      </div>
      <dl class="fields">
        <div class="field">
          <dt>Model</dt>
          <dd class="mono">{job.model ?? "—"}</dd>
        </div>
        <div class="field">
          <dt>Project</dt>
          <dd>{job.project ?? "—"}</dd>
        </div>
        <div class="field">
          <dt>Fine-tuned model</dt>
          <dd class="mono break">{job.fine_tuned_model ?? "—"}</dd>
        </div>
        <div class="field">
          <dt>Trained tokens</dt>
          <dd>{job.trained_tokens ?? "—"}</dd>
        </div>
        <div class="field">
          <dt>Created</dt>
          <dd>
            <Time iso={job.created_at} />
          </dd>
        </div>
        <div class="field">
          <dt>Finished</dt>
          <dd>
            <Time iso={job.finished_at} />
          </dd>
        </div>
        <div class="field">
          <dt>Last event</dt>
          <dd class="mono">
            <Link href={`/events/${encodeURIComponent(job.last_event_id)}`}>{job.last_event_id}</Link>
          </dd>
        </div>
      </dl>
      {job.error !== null && job.error !== undefined && (
        <div class="notice notice-error">
          <p>
            <strong>Error:</strong> {typeof job.error === "string" ? job.error : JSON.stringify(job.error)}
          </p>
        </div>
      )}
      <h2>History</h2>
      {job.history.length === 0 ? (
        <p class="muted">No snapshot of this job is left in the FINE_TUNING stream.</p>
      ) : (
        <div class="table-wrap">
          <table aria-label="Job history">
            <TableHead
              columns={[
                { label: "Seq", num: true },
                { label: "Status" },
                { label: "Event" },
                { label: "Type", wide: true },
                { label: "Event time" },
                { label: "Source", wide: true },
              ]}
            />
            <tbody>
              {job.history.map((h) => (
                <tr key={h.seq}>
                  <td class="num">{h.seq}</td>
                  <td>
                    <Status status={h.status} />
                  </td>
                  <td class="mono">
                    <Link href={`/events/${encodeURIComponent(h.event_id)}`}>{h.event_id}</Link>
                  </td>
                  <td class="wide-only">{h.event_type}</td>
                  <td>
                    <Time
                      iso={
                        h.event_created_at === null ? null : new Date(h.event_created_at * 1000).toISOString()
                      }
                    />
                  </td>
                  <td class="wide-only">{h.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
