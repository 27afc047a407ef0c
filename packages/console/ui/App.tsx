import { EventPage } from "@hookstream/contracts";
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, describe, onAuthFailure, token } from "./api";
import { DestinationsPage } from "./pages/Destinations";
import { DlqPage } from "./pages/Dlq";
import { EventPageView } from "./pages/Event";
import { EventsPage } from "./pages/Events";
import { JobPage, JobsPage } from "./pages/Jobs";
import { ReplayPage } from "./pages/Replay";
import { StatsPage } from "./pages/Stats";
import { ErrorBox, Loading } from "./parts";
import { Link, match, navigate, useLocation } from "./router";

type Session =
  | { state: "checking" }
  | { state: "disabled"; message: string }
  | { state: "unreachable"; message: string }
  | { state: "signed-out"; message: string | null; devTokenFile?: string | undefined }
  | { state: "signed-in" };

/**
 * Where `npm start` left its development token, as the server says it to a request
 * without a token (development only; production never says it).
 */
function devTokenFileOf(message: string): string | undefined {
  return /development token is in (\S+)/.exec(message)?.[1];
}

/** Asks the audit whether a token (or none) is accepted; the cheapest admin call there is. */
async function probe(withToken: string | null): Promise<void> {
  await call(EventPage, "/admin/events/search", { query: { limit: "1" }, withToken });
}

function SignIn({
  message,
  devTokenFile,
  onSignedIn,
  onDisabled,
}: {
  message: string | null;
  devTokenFile?: string | undefined;
  onSignedIn: () => void;
  onDisabled: (message: string) => void;
}) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="signin">
      <h1>hookstream console</h1>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await probe(value.trim());
            token.set(value.trim());
            onSignedIn();
          } catch (err) {
            if (err instanceof ApiError && err.failure.kind === "refused") {
              setError(
                "Wrong token: the audit service refused it. Use the ADMIN_TOKEN the audit was started with.",
              );
            } else if (err instanceof ApiError && err.failure.kind === "disabled") {
              onDisabled(err.failure.message);
            } else setError(describe(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Admin token
          <input
            type="password"
            autoComplete="off"
            required
            value={value}
            aria-describedby="token-help"
            aria-invalid={error ? true : undefined}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <p id="token-help" class="help">
          The audit service's <code>ADMIN_TOKEN</code>. It is kept in this browser tab only, until you sign
          out or close it.
        </p>
        {devTokenFile && (
          <p class="notice" id="dev-token">
            Started with <code>npm start</code>? It printed a development token when it started, and left it
            in <code>{devTokenFile}</code> as <code>ADMIN_TOKEN=…</code>.
          </p>
        )}
        {error && (
          <p class="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <div>
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}

const NAV = [
  ["/events", "Events"],
  ["/dlq", "Dead letters"],
  ["/replay", "Replay"],
  ["/destinations", "Destinations"],
  ["/stats", "Stats"],
  ["/jobs", "Fine-tuning jobs"],
] as const;

function Page({ path, query }: { path: string; query: URLSearchParams }) {
  if (path === "/" || path === "/events") return <EventsPage query={query} />;
  const event = match("/events/:id", path);
  if (event) {
    const provider = query.get("provider") ?? undefined;
    return <EventPageView key={`${provider} ${event.id}`} id={event.id ?? ""} provider={provider} />;
  }
  if (path === "/dlq") return <DlqPage query={query} />;
  if (path === "/replay") return <ReplayPage key={query.toString()} query={query} />;
  if (path === "/destinations") return <DestinationsPage />;
  if (path === "/stats") return <StatsPage />;
  if (path === "/jobs") return <JobsPage query={query} />;
  const job = match("/jobs/:id", path);
  if (job) return <JobPage key={job.id} id={job.id ?? ""} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link href="/events">Go to the events</Link>.
      </p>
    </section>
  );
}

export function App() {
  const [session, setSession] = useState<Session>({ state: "checking" });
  const [attempt, setAttempt] = useState(0);
  const { path, query } = useLocation();

  useEffect(() => {
    const saved = token.get();
    probe(saved)
      .then(() => setSession(saved ? { state: "signed-in" } : { state: "signed-out", message: null }))
      .catch((err) => {
        if (!(err instanceof ApiError)) return setSession({ state: "unreachable", message: describe(err) });
        const f = err.failure;
        if (f.kind === "disabled") return setSession({ state: "disabled", message: f.message });
        if (f.kind === "refused") {
          token.clear();
          return setSession({
            state: "signed-out",
            message: saved ? "The audit service no longer accepts the saved token; sign in again." : null,
            devTokenFile: devTokenFileOf(f.message),
          });
        }
        return setSession({ state: "unreachable", message: f.message });
      });
  }, [attempt]);

  useEffect(
    () =>
      onAuthFailure((f) => {
        if (f.kind === "disabled") setSession({ state: "disabled", message: f.message });
        else {
          token.clear();
          setSession({ state: "signed-out", message: "The audit service refused the token; sign in again." });
        }
      }),
    [],
  );

  useEffect(() => {
    const title = NAV.find(([href]) => path === href || path.startsWith(`${href}/`))?.[1] ?? "Events";
    document.title = `${title} · hookstream`;
  }, [path]);

  switch (session.state) {
    case "checking":
      return (
        <main id="main">
          <Loading what="the console" />
        </main>
      );
    case "disabled":
      return (
        <main id="main" class="signin">
          <h1>hookstream console</h1>
          <div class="notice notice-error" role="alert">
            <p>
              <strong>No admin token is configured on the server.</strong> The console and the admin API are
              off until the audit service is started with <code>ADMIN_TOKEN</code> set.
            </p>
            <p class="muted small">{session.message}</p>
          </div>
        </main>
      );
    case "unreachable":
      return (
        <main id="main" class="signin">
          <h1>hookstream console</h1>
          <ErrorBox message={session.message} retry={() => setAttempt((n) => n + 1)} />
        </main>
      );
    case "signed-out":
      return (
        <SignIn
          message={session.message}
          devTokenFile={session.devTokenFile}
          onSignedIn={() => setSession({ state: "signed-in" })}
          onDisabled={(message) => setSession({ state: "disabled", message })}
        />
      );
    case "signed-in":
      return (
        <>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <Link href="/events" class="brand">
              hookstream
            </Link>
            <nav aria-label="Console">
              {NAV.map(([href, label]) => {
                const current =
                  path === href || path.startsWith(`${href}/`) || (href === "/events" && path === "/");
                return (
                  <Link key={href} href={href} aria-current={current ? "page" : undefined}>
                    {label}
                  </Link>
                );
              })}
            </nav>
            <button
              type="button"
              class="signout"
              onClick={() => {
                token.clear();
                setSession({ state: "signed-out", message: null });
                navigate("/events", true);
              }}
            >
              Sign out
            </button>
          </header>
          <main id="main" tabIndex={-1}>
            <Page path={path} query={query} />
          </main>
        </>
      );
    default: {
      const exhaustive: never = session;
      return exhaustive;
    }
  }
}
