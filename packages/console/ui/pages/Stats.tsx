import { AUDIT_EVENT_STATUSES, EventStats } from "@hookstream/contracts";
import { useEffect, useState } from "preact/hooks";
import { call, describe } from "../api";
import { Empty, ErrorBox, Loading } from "../parts";
import { Link } from "../router";

const REFRESH_MS = 10_000;

/** Events per minute as bars, drawn here as SVG (no chart library). */
function PerMinuteChart({ points }: { points: EventStats["per_minute"] }) {
  const max = Math.max(1, ...points.map((p) => p.count));
  const w = 600;
  const h = 100;
  const bw = w / points.length;
  const total = points.reduce((s, p) => s + p.count, 0);
  const time = (iso: string) =>
    new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return (
    <figure class="chart">
      <p class="chart-max" aria-hidden="true">
        {max} / min
      </p>
      <svg
        viewBox={`0 0 ${w} ${h}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Events per minute over the last hour: ${total} in all, at most ${max} in one minute`}
      >
        <line x1="0" y1={h} x2={w} y2={h} class="axis" />
        {points.map((p, i) =>
          p.count === 0 ? null : (
            <rect
              key={p.minute}
              x={i * bw + 1}
              y={h - (p.count / max) * (h - 4)}
              width={Math.max(1, bw - 2)}
              height={(p.count / max) * (h - 4)}
              class="bar"
            >
              <title>
                {time(p.minute)}: {p.count}
              </title>
            </rect>
          ),
        )}
      </svg>
      <p class="chart-axis" aria-hidden="true">
        <span>{points[0] ? time(points[0].minute) : ""}</span>
        <span>now</span>
      </p>
      <figcaption>Events received per minute, last hour ({total} in all)</figcaption>
    </figure>
  );
}

function Bars({ counts, href }: { counts: Array<[string, number]>; href: (k: string) => string }) {
  const max = Math.max(1, ...counts.map(([, n]) => n));
  return (
    <table class="bars">
      <tbody>
        {counts.map(([k, n]) => (
          <tr key={k}>
            <th scope="row">
              <Link href={href(k)}>{k}</Link>
            </th>
            <td class="num">{n}</td>
            <td class="bar-cell" aria-hidden="true">
              {n > 0 && <span style={{ width: `${(n / max) * 100}%` }} />}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function StatsPage() {
  const [stats, setStats] = useState<EventStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    call(EventStats, "/admin/stats", { signal: abort.signal })
      .then((s) => {
        setStats(s);
        setError(null);
      })
      .catch((err) => {
        if (!abort.signal.aborted) setError(describe(err));
      });
    const t = setTimeout(() => setTick((n) => n + 1), REFRESH_MS);
    return () => {
      abort.abort();
      clearTimeout(t);
    };
  }, [tick]);

  return (
    <section aria-labelledby="stats-title">
      <h1 id="stats-title">Stats</h1>
      {error && <ErrorBox message={error} retry={() => setTick((n) => n + 1)} />}
      {!stats && !error && <Loading what="stats" />}
      {stats && stats.total === 0 && (
        <Empty>
          <p>No events recorded yet: counts and rates appear once the first webhook arrives.</p>
        </Empty>
      )}
      {stats && stats.total > 0 && (
        <>
          <p class="big">
            <strong>{stats.total}</strong> events recorded
          </p>
          <PerMinuteChart points={stats.per_minute} />
          <div class="columns">
            <div>
              <h2>By status</h2>
              <Bars
                counts={AUDIT_EVENT_STATUSES.map((s) => [s, stats.by_status[s] ?? 0] as [string, number])}
                href={(s) => `/events?status=${s}`}
              />
            </div>
            <div>
              <h2>By type</h2>
              <Bars
                counts={Object.entries(stats.by_type)}
                href={(t) => `/events?type=${encodeURIComponent(t)}`}
              />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
