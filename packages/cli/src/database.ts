import pg from "pg";
import { CliError } from "./command";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hookstream";

/** Runs one query against DATABASE_URL with errors a person can act on. */
export async function query<T extends pg.QueryResultRow>(
  env: NodeJS.ProcessEnv,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const url = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    const host = (() => {
      try {
        return new URL(url).host;
      } catch {
        return url;
      }
    })();
    throw new CliError(
      `cannot reach the database at ${host} (${(err as Error).message}); is Postgres running? (DATABASE_URL)`,
    );
  }
  try {
    return (await client.query<T>(sql, params)).rows;
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") {
      throw new CliError(
        "the table does not exist yet: the audit service has not run its migrations (start it: npm start)",
      );
    }
    throw err;
  } finally {
    await client.end();
  }
}
