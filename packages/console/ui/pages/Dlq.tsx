import {
  type DlqEntry,
  DlqList,
  DlqQuery,
  DlqRedriveRequest,
  DlqRedriveResult,
  HANDLER_NAMES,
} from "@hookstream/contracts";
import { useEffect, useRef, useState } from "preact/hooks";
import { call, describe } from "../api";
import { Age, Empty, ErrorBox, Loading, TableHead } from "../parts";
import { Link, navigate } from "../router";

const LIMIT = 1_000;

type Plan = { label: string; count: number; run: () => Promise<DlqRedriveResult> };

/** What a redrive did, including what it left in the DLQ (nothing would take it back) and why. */
function redriveMessage(r: DlqRedriveResult, noun: (n: number) => string): string {
  const moved = `Redrove ${noun(r.replayed)}: each goes back to its handler, or to its destination alone.`;
  if (r.left.length === 0) return moved;
  const reasons = [...new Set(r.left.map((m) => m.reason))].join("; ");
  return `${moved} Left ${noun(r.left.length)} in the dead-letter queue: ${reasons}`;
}

/** A modal confirmation that says how many dead letters will move before anything does. */
function Confirm({ plan, onDone }: { plan: Plan | null; onDone: (result: string | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (plan && !ref.current?.open) ref.current?.showModal();
    if (!plan && ref.current?.open) ref.current.close();
  }, [plan]);
  const noun = (n: number) => `${n} dead letter${n === 1 ? "" : "s"}`;
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={() => onDone(null)}>
      {plan && (
        <form
          method="dialog"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            try {
              onDone(redriveMessage(await plan.run(), noun));
            } catch (err) {
              onDone(`Redrive failed: ${describe(err)}`);
            } finally {
              setBusy(false);
            }
          }}
        >
          <h2 id="confirm-title" class="dialog-title">
            Redrive {noun(plan.count)}?
          </h2>
          <p>
            {plan.label} Each is republished to its handler, or to the one destination it died at, and removed
            from the dead-letter queue; one that nothing would take back stays. The handler's inbox still
            skips work it already finished.
          </p>
          <div class="dialog-actions">
            <button type="button" onClick={() => onDone(null)} disabled={busy}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? "Redriving…" : `Redrive ${noun(plan.count)}`}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

export function DlqPage({ query }: { query: URLSearchParams }) {
  const handler = query.get("handler") ?? "";
  const type = query.get("type") ?? "";
  const filter = { handler: handler || undefined, type: type || undefined };
  const key = JSON.stringify(filter);
  const [list, setList] = useState<DlqEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [plan, setPlan] = useState<Plan | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [typeInput, setTypeInput] = useState(type);

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    call(DlqList, "/admin/dlq", {
      query: { ...filter, limit: String(LIMIT) },
      request: DlqQuery,
      signal: abort.signal,
    })
      .then((l) => {
        setList(l.messages);
        setSelected((s) => new Set([...s].filter((seq) => l.messages.some((m) => m.seq === seq))));
      })
      .catch((err) => {
        if (!abort.signal.aborted) setError(describe(err));
      });
    return () => abort.abort();
  }, [key, reload]);

  const bySeq = (seqs: number[]) => () =>
    call(DlqRedriveResult, "/admin/dlq/redrive", {
      method: "POST",
      body: { seqs },
      request: DlqRedriveRequest,
    });

  const groups = new Map<string, DlqEntry[]>();
  for (const m of list ?? []) {
    const k = `${m.handler} · ${m.event_type}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const toggle = (seq: number) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });
  const setFilter = (next: { handler?: string; type?: string }) => {
    const qs = new URLSearchParams();
    const merged = { handler, type, ...next };
    if (merged.handler) qs.set("handler", merged.handler);
    if (merged.type) qs.set("type", merged.type.trim());
    const s = qs.toString();
    navigate(s ? `/dlq?${s}` : "/dlq");
  };

  return (
    <section aria-labelledby="dlq-title">
      <h1 id="dlq-title">Dead letters</h1>
      <p class="lede">
        Events a handler gave up on (a permanent error, or its last delivery failed), and events a
        destination's retry policy gave up on (handler <code>delivery.&lt;name&gt;</code>). Fix the cause,
        then redrive them.
      </p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ type: typeInput });
        }}
      >
        <label>
          Handler
          <select value={handler} onChange={(e) => setFilter({ handler: e.currentTarget.value })}>
            <option value="">every handler</option>
            {HANDLER_NAMES.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <input
            type="text"
            value={typeInput}
            placeholder="e.g. batch.completed"
            onInput={(e) => setTypeInput(e.currentTarget.value)}
          />
        </label>
        <div class="filter-actions">
          <button type="submit">Apply</button>
        </div>
      </form>
      {result && (
        <p class="notice" role="status">
          {result}
        </p>
      )}
      {error && <ErrorBox message={error} retry={() => setReload((n) => n + 1)} />}
      {!error && list === null && <Loading what="dead letters" />}
      {list !== null && list.length === 0 && (
        <Empty>
          <p>
            No dead letters{handler || type ? " match these filters" : ""}. Every event either succeeded or is
            still being retried; see failing ones under{" "}
            <Link href="/events?status=failed">Events › failed</Link>.
          </p>
        </Empty>
      )}
      {list !== null && list.length > 0 && (
        <>
          <div class="bulk">
            <button
              type="button"
              disabled={selected.size === 0}
              onClick={() =>
                setPlan({ label: "The selected ones.", count: selected.size, run: bySeq([...selected]) })
              }
            >
              Redrive selected ({selected.size})
            </button>
            <button
              type="button"
              onClick={() =>
                setPlan({
                  label: handler || type ? "Every one matching the filters." : "Every dead letter.",
                  count: list.length,
                  run: () =>
                    call(DlqRedriveResult, "/admin/dlq/replay", {
                      method: "POST",
                      body: { ...filter, limit: LIMIT },
                      request: DlqQuery,
                    }),
                })
              }
            >
              Redrive all matching ({list.length}
              {list.length >= LIMIT ? "+" : ""})
            </button>
          </div>
          {[...groups].map(([group, entries]) => (
            <div class="group" key={group}>
              <h2>
                {group} <span class="count">{entries.length}</span>{" "}
                <span class="muted small">
                  oldest {entries[0] ? <Age iso={entries[0].dead_at ?? entries[0].stored_at} /> : null}
                </span>
              </h2>
              <div class="table-wrap">
                <table class="dlq">
                  <TableHead
                    columns={[
                      { label: "Select", hidden: true },
                      { label: "Event id" },
                      { label: "Attempts", num: true },
                      { label: "Error" },
                      { label: "Age" },
                      { label: "Action", hidden: true },
                    ]}
                  />
                  <tbody>
                    {entries.map((m) => (
                      <tr key={m.seq}>
                        <td>
                          <input
                            type="checkbox"
                            checked={selected.has(m.seq)}
                            onChange={() => toggle(m.seq)}
                            aria-label={`Select ${m.event_id ?? `seq ${m.seq}`}`}
                          />
                        </td>
                        <td class="mono">
                          {m.event_id ? (
                            <Link href={`/events/${encodeURIComponent(m.event_id)}`}>{m.event_id}</Link>
                          ) : (
                            `seq ${m.seq}`
                          )}
                        </td>
                        <td class="num">{m.attempts ?? "—"}</td>
                        <td class="error-cell">{m.error ?? "—"}</td>
                        <td>
                          <Age iso={m.dead_at ?? m.stored_at} />
                        </td>
                        <td>
                          <button
                            type="button"
                            onClick={() =>
                              setPlan({
                                label: `Event ${m.event_id ?? m.seq}.`,
                                count: 1,
                                run: bySeq([m.seq]),
                              })
                            }
                          >
                            Redrive
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          ))}
        </>
      )}
      <Confirm
        plan={plan}
        onDone={(r) => {
          setPlan(null);
          if (r) {
            setResult(r);
            setSelected(new Set());
            setReload((n) => n + 1);
          }
        }}
      />
    </section>
  );
}
