import { AUDIT_EVENT_STATUSES, EventPage, EventSearchQuery, type EventSummary } from "@hookstream/contracts";
import { useEffect, useRef, useState } from "preact/hooks";
import { call, describe } from "../api";
import { followLive, type LiveState } from "../live";
import { Empty, ErrorBox, Loading, Status, TableHead, TextFilter, Time } from "../parts";
import { Link, navigate } from "../router";
import { eventHref } from "./Event";

const FILTERS = ["q", "type", "status", "project", "since", "until"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function filtersOf(query: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = query.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** `datetime-local` speaks local wall time without a zone; the URL and API speak ISO. */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (v: string) => (v ? new Date(v).toISOString() : undefined);

function FilterForm({ filters }: { filters: Filters }) {
  const relative = (v: string | undefined) => v !== undefined && /^\d+[smhd]$/.test(v);
  const [q, setQ] = useState(filters.q ?? "");
  const [type, setType] = useState(filters.type ?? "");
  const [status, setStatus] = useState(filters.status ?? "");
  const [project, setProject] = useState(filters.project ?? "");
  const [since, setSince] = useState(relative(filters.since) ? "" : toLocalInput(filters.since));
  const [until, setUntil] = useState(toLocalInput(filters.until));
  const [range, setRange] = useState(relative(filters.since) ? (filters.since ?? "") : "");

  function apply(e: Event) {
    e.preventDefault();
    const qs = new URLSearchParams();
    const set = (k: string, v: string | undefined) => v && qs.set(k, v.trim());
    set("q", q);
    set("type", type);
    set("status", status);
    set("project", project);
    set("since", range || fromLocalInput(since));
    set("until", range ? undefined : fromLocalInput(until));
    const s = qs.toString();
    navigate(s ? `/events?${s}` : "/events");
  }

  return (
    <form class="filters" onSubmit={apply}>
      <TextFilter
        label="Search"
        type="search"
        grow
        value={q}
        placeholder="event id or resource id"
        onInput={setQ}
      />
      <TextFilter label="Type" value={type} placeholder="e.g. batch.completed" onInput={setType} />
      <label>
        Status
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">any</option>
          {AUDIT_EVENT_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <TextFilter label="Project" value={project} placeholder="e.g. research" onInput={setProject} />
      <label>
        Received
        <select value={range} onChange={(e) => setRange(e.currentTarget.value)}>
          <option value="">any time / from–to</option>
          <option value="15m">last 15 minutes</option>
          <option value="1h">last hour</option>
          <option value="24h">last 24 hours</option>
          <option value="7d">last 7 days</option>
        </select>
      </label>
      {!range && (
        <>
          <label>
            From
            <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
          </label>
          <label>
            To
            <input type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
          </label>
        </>
      )}
      <div class="filter-actions">
        <button type="submit" class="primary">
          Apply
        </button>
        <button type="button" onClick={() => navigate("/events")}>
          Clear
        </button>
      </div>
    </form>
  );
}

const LIVE_LABEL: Record<LiveState, string> = {
  connecting: "connecting…",
  live: "live",
  retrying: "reconnecting…",
};

export function EventsPage({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const key = JSON.stringify(filters);
  const [rows, setRows] = useState<EventSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [live, setLive] = useState<LiveState>("connecting");
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [reload, setReload] = useState(0);
  const paged = useRef(false);

  useEffect(() => {
    const abort = new AbortController();
    setRows(null);
    setError(null);
    paged.current = false;
    call(EventPage, "/admin/events/search", {
      query: { ...filters, limit: "50" },
      request: EventSearchQuery,
      signal: abort.signal,
    })
      .then((page) => {
        setRows(page.events);
        setCursor(page.next_cursor);
      })
      .catch((err) => {
        if (!abort.signal.aborted) setError(describe(err));
      });
    return () => abort.abort();
  }, [key, reload]);

  useEffect(() => {
    // the live feed applies the same filters on the server; an `until` in the past lets nothing new through
    return followLive(filters, {
      onState: setLive,
      onReconnect: () => {
        if (!paged.current) setReload((n) => n + 1);
      },
      onEvents(batch) {
        setRows((current) => {
          if (current === null) return current;
          const byId = new Map(current.map((r, i) => [`${r.provider} ${r.event_id}`, i]));
          const next = [...current];
          const added: EventSummary[] = [];
          for (const r of batch) {
            const at = byId.get(`${r.provider} ${r.event_id}`);
            if (at !== undefined) next[at] = r;
            else added.push(r);
          }
          if (added.length === 0) return next;
          setFresh(new Set(added.map((r) => r.event_id)));
          return [...added.reverse(), ...next];
        });
      },
    });
  }, [key]);

  async function loadMore() {
    if (!cursor) return;
    setMore(true);
    try {
      const page = await call(EventPage, "/admin/events/search", {
        query: { ...filters, limit: "50", cursor },
        request: EventSearchQuery,
      });
      paged.current = true;
      setRows((r) => [...(r ?? []), ...page.events]);
      setCursor(page.next_cursor);
    } catch (err) {
      setError(describe(err));
    } finally {
      setMore(false);
    }
  }

  const filtered = Object.keys(filters).length > 0;
  return (
    <section aria-labelledby="events-title">
      <div class="page-head">
        <h1 id="events-title">Events</h1>
        <span class={`live live-${live}`} role="status" aria-live="polite">
          <span class="dot" aria-hidden="true" /> {LIVE_LABEL[live]}
        </span>
      </div>
      <FilterForm key={key} filters={filters} />
      {error && <ErrorBox message={error} retry={() => setReload((n) => n + 1)} />}
      {!error && rows === null && <Loading what="events" />}
      {rows !== null && rows.length === 0 && (
        <Empty>
          {filtered ? (
            <p>
              No event matches these filters. Search matches a whole event id (<code>evt_…</code>) or resource
              id exactly; try fewer filters or <Link href="/events">clear them</Link>.
            </p>
          ) : (
            <p>
              No events yet. Point OpenAI's webhook at the gateway's <code>/webhooks/openai</code>, or send a
              test one with <code>npm run hookstream -- send batch.completed</code>; it appears here as it
              arrives.
            </p>
          )}
        </Empty>
      )}
      {rows !== null && rows.length > 0 && (
        <div class="table-wrap">
          <table class="events">
            <caption class="sr-only">Events, newest first</caption>
            <TableHead
              columns={[
                { label: "Event id" },
                { label: "Type" },
                { label: "Status" },
                { label: "Project", wide: true },
                { label: "Resource", wide: true },
                { label: "Received" },
                { label: "Retries", num: true, wide: true },
              ]}
            />
            <tbody>
              {rows.map((e) => (
                <tr key={`${e.provider} ${e.event_id}`} class={fresh.has(e.event_id) ? "fresh" : undefined}>
                  <td class="mono">
                    <Link href={eventHref(e)}>{e.event_id}</Link>
                  </td>
                  <td>{e.event_type}</td>
                  <td>
                    <Status status={e.status} />
                  </td>
                  <td class="wide-only">{e.project ?? "—"}</td>
                  <td class="wide-only mono">{e.resource_id ?? "—"}</td>
                  <td>
                    <Time iso={e.created_at} />
                  </td>
                  <td class="wide-only num">{e.retry_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && rows !== null && rows.length > 0 && (
        <button type="button" class="more" onClick={loadMore} disabled={more}>
          {more ? "Loading…" : "Load older events"}
        </button>
      )}
    </section>
  );
}
