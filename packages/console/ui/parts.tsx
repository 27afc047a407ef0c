import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A time in the reader's local zone; the exact ISO value on hover and for machines. */
export function Time({ iso }: { iso: string | null }) {
  if (!iso) return <span class="muted">—</span>;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {dateTime.format(d)}
    </time>
  );
}

export function age(iso: string, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** How long ago, with the exact time on hover. */
export function Age({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={`${iso} (${dateTime.format(new Date(iso))})`}>
      {age(iso)} ago
    </time>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="notice" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="notice notice-empty">{children}</div>;
}

/**
 * One column of a table: its heading, and how it shows — `num` right-aligned (figures),
 * `wide` only on wide screens, `hidden` read by screen readers alone (a column of
 * checkboxes or buttons).
 */
export interface Column {
  label: string;
  num?: boolean;
  wide?: boolean;
  hidden?: boolean;
}

/** A table's heading row, the same markup on every page. */
export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th
            key={c.label}
            scope="col"
            class={[c.wide ? "wide-only" : "", c.num ? "num" : ""].filter(Boolean).join(" ") || undefined}
          >
            {c.hidden ? <span class="sr-only">{c.label}</span> : c.label}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** above this many characters a body shows its start only, until asked */
const PREVIEW_CHARS = 20_000;

/**
 * A JSON value, pretty-printed as plain text (one text node: no per-token markup,
 * so a body of megabytes renders at once). A long one shows its first 20 000
 * characters until "Show all" is pressed.
 */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  const text = useMemo(() => {
    if (typeof value === "string") {
      try {
        return JSON.stringify(JSON.parse(value), null, 2);
      } catch {
        return value;
      }
    }
    return JSON.stringify(value, null, 2) ?? "null";
  }, [value]);
  const [all, setAll] = useState(false);
  const long = text.length > PREVIEW_CHARS;
  return (
    <div class="json">
      {/* focusable so that a keyboard can scroll it */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
      <section class="json-scroll" aria-label={label} tabIndex={0}>
        <pre>{long && !all ? `${text.slice(0, PREVIEW_CHARS)}\n…` : text}</pre>
      </section>
      {long && (
        <button type="button" onClick={() => setAll(!all)}>
          {all ? "Show less" : `Show all (${Math.round(text.length / 1024)} KB)`}
        </button>
      )}
    </div>
  );
}

/** A labelled text box of a filter form (the label is its accessible name). */
export function TextFilter(props: {
  label: string;
  value: string;
  placeholder: string;
  onInput: (value: string) => void;
  grow?: boolean;
  type?: "text" | "search";
}) {
  return (
    <label class={props.grow ? "grow" : undefined}>
      {props.label}
      <input
        // preact types each input type apart; both of these take the same attributes
        type={(props.type ?? "text") as "text"}
        value={props.value}
        placeholder={props.placeholder}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}
