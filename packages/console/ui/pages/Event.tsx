import { type EventDelivery, EventDetail } from "@hookstream/contracts";
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, describe } from "../api";
import { followLive } from "../live";
import { Empty, ErrorBox, JsonView, Loading, Status, TableHead, Time } from "../parts";
import { Link } from "../router";

function Field({ name, children }: { name: string; children: preact.ComponentChildren }) {
  return (
    <div class="field">
      <dt>{name}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Timeline({ event }: { event: EventDetail }) {
  if (event.attempts.length === 0) {
    return (
      <Empty>
        {event.status === "ignored" ? (
          <p>No handler consumes events of type {event.event_type}; the audit recorded it as ignored.</p>
        ) : (
          <p>
            No handler attempt is recorded yet. A handler reports each attempt as it ends; this page updates
            by itself.
          </p>
        )}
      </Empty>
    );
  }
  return (
    <ol class="timeline" aria-label="Handler attempts">
      {event.attempts.map((a) => (
        <li key={`${a.handler}-${a.attempt}-${a.status}-${a.at}`} class={`attempt attempt-${a.status}`}>
          <div class="attempt-head">
            <Status status={a.status} />
            <strong>{a.handler}</strong>
            <span>attempt {a.attempt}</span>
            {a.replay && <span class="tag">replay</span>}
            {a.skipped && <span class="tag">already handled; nothing done</span>}
            <Time iso={a.at} />
          </div>
          {a.error && <p class="attempt-error">{a.error}</p>}
        </li>
      ))}
    </ol>
  );
}

/**
 * The event's delivery log, per destination: each destination it was sent to, its last
 * outcome, and every attempt oldest first. Records from before the delivery service have
 * no destination's name: they are grouped by URL.
 */
function Deliveries({ event }: { event: EventDetail }) {
  const deliveries = event.deliveries ?? [];
  if (deliveries.length === 0) {
    return (
      <p class="muted">
        Nothing was sent for this event: no <Link href="/destinations">destination</Link> takes it, or its
        delivery has not started yet.
      </p>
    );
  }
  const byDestination = new Map<string, EventDelivery[]>();
  for (const d of deliveries) {
    const key = d.destination ?? d.url;
    byDestination.set(key, [...(byDestination.get(key) ?? []), d]);
  }
  return (
    <>
      {[...byDestination].map(([name, attempts]) => {
        const last = attempts[attempts.length - 1];
        return (
          <div class="delivery-group" key={name}>
            <h3>
              <span class="mono break">{name}</span> {last && <Status status={last.outcome} />}{" "}
              <span class="muted small">
                {attempts.length} attempt{attempts.length === 1 ? "" : "s"}
                {last && last.url !== name ? ` · ${last.url}` : ""}
              </span>
            </h3>
            <div class="table-wrap">
              <table aria-label={`Deliveries to ${name}`}>
                <TableHead
                  columns={[
                    { label: "Time" },
                    { label: "Attempt" },
                    { label: "Result" },
                    { label: "Status" },
                    { label: "Latency" },
                    { label: "Error" },
                  ]}
                />
                <tbody>
                  {attempts.map((d) => (
                    <tr key={`${d.handler}-${d.url}-${d.attempt}-${d.outcome}-${d.at}`}>
                      <td>
                        <Time iso={d.at} />
                      </td>
                      <td>
                        #{d.attempt} <span class="muted small">{d.handler}</span>
                      </td>
                      <td>{d.outcome}</td>
                      <td class="mono">{d.status_code ?? "—"}</td>
                      <td class="mono">{Math.round(d.latency_ms)} ms</td>
                      <td class="break">{d.error ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        );
      })}
    </>
  );
}

/**
 * The console's URL of an event: an event is its provider and its id together, so
 * another provider's event carries `?provider=` (OpenAI's, the usual case, does not).
 */
export function eventHref(e: { event_id: string; provider?: string | null }): string {
  const path = `/events/${encodeURIComponent(e.event_id)}`;
  return e.provider && e.provider !== "openai" ? `${path}?provider=${encodeURIComponent(e.provider)}` : path;
}

export function EventPageView({ id, provider }: { id: string; provider?: string | undefined }) {
  const [event, setEvent] = useState<EventDetail | null>(null);
  const [error, setError] = useState<{ message: string; missing: boolean } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    call(EventDetail, `/admin/events/${encodeURIComponent(id)}`, {
      query: { provider },
      signal: abort.signal,
    })
      .then((e) => {
        setEvent(e);
        setError(null);
      })
      .catch((err) => {
        if (abort.signal.aborted) return;
        setError({
          message: describe(err),
          missing: err instanceof ApiError && err.failure.kind === "not_found",
        });
      });
    return () => abort.abort();
  }, [id, provider, tick]);

  // a change of this event's row (an attempt ended) reloads it, so the timeline moves by itself
  useEffect(
    () =>
      followLive(
        { q: id },
        {
          onState: () => {},
          onEvents: (rows) => {
            if (rows.some((r) => r.event_id === id && (!provider || r.provider === provider)))
              setTick((n) => n + 1);
          },
          onReconnect: () => setTick((n) => n + 1),
        },
      ),
    [id],
  );

  if (error && !event) {
    return (
      <section>
        <h1 class="mono">{id}</h1>
        {error.missing ? (
          <Empty>
            <p>
              No event <code>{id}</code> in the audit. If it was just sent it may not be written yet;{" "}
              <button type="button" onClick={() => setTick((n) => n + 1)}>
                look again
              </button>{" "}
              or <Link href={`/events?q=${encodeURIComponent(id)}`}>search for it</Link>.
            </p>
          </Empty>
        ) : (
          <ErrorBox message={error.message} retry={() => setTick((n) => n + 1)} />
        )}
      </section>
    );
  }
  if (!event) return <Loading what="the event" />;
  return (
    <section aria-labelledby="event-title">
      <p class="crumbs">
        <Link href="/events">Events</Link> /
      </p>
      <div class="page-head">
        <h1 id="event-title" class="mono break">
          {event.event_id}
        </h1>
        <Status status={event.status} />
      </div>
      <p class="actions">
        <Link class="button" href={`/replay?event=${encodeURIComponent(event.event_id)}`}>
          Replay this event…
        </Link>
      </p>
      <dl class="fields">
        <Field name="Type">{event.event_type}</Field>
        <Field name="Provider">{event.provider ?? "—"}</Field>
        <Field name="Project">{event.project ?? "—"}</Field>
        <Field name="Received">
          <Time iso={event.created_at} />
        </Field>
        <Field name="Resource">
          {event.resource_type ? (
            <span class="mono">
              {event.resource_type} {event.resource_id}
            </span>
          ) : (
            "—"
          )}
        </Field>
        <Field name="Processed">
          <Time iso={event.processed_at} />
        </Field>
        <Field name="Subject">
          <span class="mono break">{event.subject ?? "—"}</span>
        </Field>
        <Field name="Stream seq">
          <span class="mono">{event.stream_seq ?? "—"}</span>
        </Field>
        <Field name="Webhook id">
          <span class="mono break">{event.webhook_id ?? "—"}</span>
        </Field>
        <Field name="Webhook timestamp">
          <Time iso={event.timestamp} />
        </Field>
        <Field name="Failed attempts">{event.retry_count}</Field>
        <Field name="Signature">
          <span class="mono break">{event.signature ?? "—"}</span>
        </Field>
      </dl>
      {event.error_message && (
        <div class="notice notice-error">
          <p>
            <strong>Last error:</strong> {event.error_message}
          </p>
        </div>
      )}
      <h2>Timeline</h2>
      <Timeline event={event} />
      <h2>Deliveries</h2>
      <Deliveries event={event} />
      <h2>Body</h2>
      <JsonView value={event.payload} label="Raw body" />
      <h2>Headers</h2>
      {event.headers && Object.keys(event.headers).length > 0 ? (
        <div class="table-wrap">
          <table class="kv">
            <tbody>
              {Object.entries(event.headers).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td class="mono break">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">No headers recorded (the row was made by an outcome before its message).</p>
      )}
    </section>
  );
}
