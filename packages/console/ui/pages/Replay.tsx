import { HANDLER_NAMES, SingleReplayRequest, SingleReplayResult } from "@hookstream/contracts";
import { useState } from "preact/hooks";
import { call, describe } from "../api";
import { ErrorBox } from "../parts";
import { Link } from "../router";

export function ReplayPage({ query }: { query: URLSearchParams }) {
  const [eventId, setEventId] = useState(query.get("event") ?? "");
  const [handler, setHandler] = useState("");
  const [bypass, setBypass] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SingleReplayResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(
        await call(SingleReplayResult, `/admin/replay/${encodeURIComponent(eventId.trim())}`, {
          method: "POST",
          body: { ...(handler ? { handler } : {}), force: bypass },
          request: SingleReplayRequest,
        }),
      );
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="replay-title">
      <h1 id="replay-title">Replay</h1>
      <p class="lede">
        Sends one event's original message again to one handler. Other handlers and the audit record are
        untouched; the attempt shows in the event's timeline.
      </p>
      <form class="stack" onSubmit={submit}>
        <label>
          Event id
          <input
            type="text"
            required
            value={eventId}
            placeholder="evt_…"
            onInput={(e) => setEventId(e.currentTarget.value)}
          />
        </label>
        <label>
          Handler
          <select value={handler} onChange={(e) => setHandler(e.currentTarget.value)}>
            <option value="">the one for its type</option>
            {HANDLER_NAMES.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </label>
        <div class="switch">
          <label>
            <input
              type="checkbox"
              role="switch"
              aria-checked={bypass}
              checked={bypass}
              aria-describedby="bypass-help"
              onChange={(e) => setBypass(e.currentTarget.checked)}
            />
            Bypass inbox
          </label>
          <p id="bypass-help" class="help">
            Each handler keeps an inbox of the events it has finished, and skips them when they come again.
            With the switch off, a replay of a finished event does nothing (it is reported "already handled").
            With it on, the handler runs the event again in full: notifications and other side effects happen
            again.
          </p>
        </div>
        <div>
          <button type="submit" class="primary" disabled={busy || eventId.trim() === ""}>
            {busy ? "Replaying…" : "Replay"}
          </button>
        </div>
      </form>
      {error && <ErrorBox message={error} />}
      {result && (
        <div class="notice" role="status">
          <p>
            Replayed <code>{result.event_id}</code> to <strong>{result.handler}</strong>
            {result.force ? " bypassing its inbox" : ""} (replay seq {result.replay_seq}).{" "}
            <Link href={`/events/${encodeURIComponent(result.event_id)}`}>Watch its timeline</Link>.
          </p>
        </div>
      )}
    </section>
  );
}
