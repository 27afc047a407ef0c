import {
  DestinationList,
  DestinationPauseRequest,
  DestinationStatus,
  DestinationTestResult,
} from "@hookstream/contracts";
import { useEffect, useState } from "preact/hooks";
import { call, describe } from "../api";
import { Age, Empty, ErrorBox, Loading, Status, TableHead, Time } from "../parts";

const REFRESH_MS = 5_000;

/** What a destination shows: the delivery service's state, and `failing` while active with failures in a row. */
export type ShownState = "active" | "failing" | "open" | "paused";

export function shownState(d: DestinationStatus): ShownState {
  return d.state === "active" && d.failures > 0 ? "failing" : d.state;
}

function StateCell({ d }: { d: DestinationStatus }) {
  const shown = shownState(d);
  return (
    <>
      <Status status={shown} />
      {shown === "failing" && (
        <div class="muted small">
          {d.failures} failed attempt{d.failures === 1 ? "" : "s"} in a row
        </div>
      )}
      {d.reason && <div class="muted small">{d.reason}</div>}
      {d.state === "open" && d.retry_at && (
        <div class="muted small">
          next try <Time iso={d.retry_at} />
        </div>
      )}
    </>
  );
}

const percent = (v: number | null) =>
  v === null ? "—" : `${(v * 100).toFixed(v === 0 || v === 1 ? 0 : 1)} %`;
const millis = (v: number | null) => (v === null ? "—" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);

type Busy = { name: string; action: "pause" | "resume" | "test" } | null;

/**
 * Every destination of the delivery service (through the admin service's
 * `/api/destinations`): its state, pending count, success rate and p99 of an instance's
 * last attempts, and the last error, with Pause, Resume and Send test event. Refreshes
 * by itself; an action's answer replaces its row at once.
 */
export function DestinationsPage() {
  const [list, setList] = useState<DestinationStatus[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [busy, setBusy] = useState<Busy>(null);
  const [notice, setNotice] = useState<{ text: string; bad: boolean } | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    call(DestinationList, "/api/destinations", { signal: abort.signal })
      .then((l) => {
        setList(l.destinations);
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

  async function pauseOrResume(d: DestinationStatus, action: "pause" | "resume") {
    setBusy({ name: d.name, action });
    try {
      const next = await call(
        DestinationStatus,
        `/api/destinations/${encodeURIComponent(d.name)}/${action}`,
        {
          method: "POST",
          body: action === "pause" ? { reason: "from the console" } : {},
          request: DestinationPauseRequest,
        },
      );
      setList((l) => l?.map((x) => (x.name === next.name ? next : x)) ?? null);
      setNotice({
        bad: false,
        text:
          action === "pause"
            ? `Paused ${d.name} on every delivery instance: its events wait in the stream until you resume it.`
            : `Resumed ${d.name}: its waiting events go out in order.`,
      });
    } catch (err) {
      setNotice({ bad: true, text: `Could not ${action} ${d.name}: ${describe(err)}` });
    } finally {
      setBusy(null);
    }
  }

  async function sendTest(d: DestinationStatus) {
    setBusy({ name: d.name, action: "test" });
    try {
      const r = await call(DestinationTestResult, `/api/destinations/${encodeURIComponent(d.name)}/test`, {
        method: "POST",
        body: {},
      });
      setNotice(
        r.ok
          ? {
              bad: false,
              text: `Test event to ${r.name}: delivered (${r.status_code}) in ${millis(r.latency_ms)}.`,
            }
          : { bad: true, text: `Test event to ${r.name} failed: ${r.error ?? `answered ${r.status_code}`}.` },
      );
    } catch (err) {
      setNotice({ bad: true, text: `Could not send a test event to ${d.name}: ${describe(err)}` });
    } finally {
      setBusy(null);
    }
  }

  const isBusy = (d: DestinationStatus, action?: NonNullable<Busy>["action"]) =>
    busy !== null && busy.name === d.name && (action === undefined || busy.action === action);

  return (
    <section aria-labelledby="destinations-title">
      <h1 id="destinations-title">Destinations</h1>
      <p class="lede">
        Where the delivery service sends notifications and events. An open or paused destination's events wait
        in the stream and go out in order once it answers or is resumed; nothing is dead-lettered meanwhile.
      </p>
      {notice && (
        <p class={notice.bad ? "notice notice-error" : "notice"} role="status">
          {notice.text}
        </p>
      )}
      {error && <ErrorBox message={error} retry={() => setTick((n) => n + 1)} />}
      {!error && list === null && <Loading what="destinations" />}
      {list !== null && list.length === 0 && (
        <Empty>
          <p>
            No destination is configured. Set <code>DESTINATIONS</code> (or <code>NOTIFY_URLS</code>,{" "}
            <code>DEPLOY_HOOK_URL</code>) on the delivery service.
          </p>
        </Empty>
      )}
      {list !== null && list.length > 0 && (
        <div class="table-wrap">
          <table class="destinations">
            <TableHead
              columns={[
                { label: "Destination" },
                { label: "State" },
                { label: "Pending", num: true },
                { label: "Success", num: true },
                { label: "p99", num: true },
                { label: "Last error" },
                { label: "Actions", hidden: true },
              ]}
            />
            <tbody>
              {list.map((d) => (
                <tr key={d.name}>
                  <th scope="row" class="dest-name">
                    <strong>{d.name}</strong>
                    <div class="mono small muted break">{d.url}</div>
                    <div class="small muted">
                      {d.source} · {d.ordering === "resource" ? "in order per resource" : "unordered"}
                    </div>
                  </th>
                  <td class="dest-state">
                    <StateCell d={d} />
                  </td>
                  <td class="num" data-label="pending">
                    {d.pending ?? "—"}
                  </td>
                  <td class="num" data-label="success">
                    {percent(d.success_rate)}
                  </td>
                  <td class="num" data-label="p99">
                    {millis(d.p99_ms)}
                  </td>
                  <td class={d.last_error ? "error-cell" : "error-cell no-error"}>
                    {d.last_error ? (
                      <>
                        {d.last_error}
                        {d.last_error_at && (
                          <div class="muted small">
                            <Age iso={d.last_error_at} />
                          </div>
                        )}
                      </>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td class="dest-actions">
                    {d.state !== "paused" && (
                      <button type="button" disabled={isBusy(d)} onClick={() => pauseOrResume(d, "pause")}>
                        {isBusy(d, "pause") ? "Pausing…" : "Pause"}
                      </button>
                    )}
                    {d.state !== "active" && (
                      <button type="button" disabled={isBusy(d)} onClick={() => pauseOrResume(d, "resume")}>
                        {isBusy(d, "resume") ? "Resuming…" : "Resume"}
                      </button>
                    )}
                    <button type="button" disabled={isBusy(d)} onClick={() => sendTest(d)}>
                      {isBusy(d, "test") ? "Sending…" : "Send test event"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="help">
        Success rate and p99 are of the last 500 attempts of the delivery instance that answered; pending
        counts every instance's.
      </p>
    </section>
  );
}
