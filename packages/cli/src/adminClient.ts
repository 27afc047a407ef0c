import { CliError } from "./command";

export const DEFAULT_ADMIN_URL = "http://127.0.0.1:3006";

/** What to do without a token: the development file, else the service's own. */
export const NO_ADMIN_TOKEN =
  "ADMIN_TOKEN is not set: run the CLI in the project folder after `npm start` (it writes its development token to .hookstream/dev.env), or export the ADMIN_TOKEN the services run with";

export interface AdminClient {
  get<T>(path: string, query?: Record<string, string | undefined>): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

/**
 * Calls the admin service's API (`HOOKSTREAM_ADMIN_URL`, bearer `ADMIN_TOKEN`)
 * and turns every failure into a CliError that says what to do about it.
 */
export function adminClient(env: NodeJS.ProcessEnv, fetchFn: typeof fetch = fetch): AdminClient {
  const base = (env.HOOKSTREAM_ADMIN_URL || DEFAULT_ADMIN_URL).replace(/\/+$/, "");
  const token = env.ADMIN_TOKEN;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!token) throw new CliError(NO_ADMIN_TOKEN);
    let res: Response;
    try {
      res = await fetchFn(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(
        `the admin API does not answer at ${base} (${cause}); is it running (npm start)? Set HOOKSTREAM_ADMIN_URL if it listens elsewhere`,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: text };
    }
    if (res.ok) return json as T;
    const message = (json as { message?: string }).message ?? res.statusText;
    switch (res.status) {
      case 401:
      case 403:
        throw new CliError(
          `refused by the admin API (${res.status}): ${message}; check ADMIN_TOKEN (npm start writes its token to .hookstream/dev.env)`,
        );
      case 503:
        throw new CliError(`the admin API is unavailable (503): ${message}`);
      default:
        throw new CliError(`${res.status}: ${message}`);
    }
  }

  return {
    get(path, query = {}) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
      const q = qs.toString();
      return call("GET", q ? `${path}?${q}` : path);
    },
    post(path, body) {
      return call("POST", path, body);
    },
  };
}
