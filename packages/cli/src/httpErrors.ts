import { CliError } from "./command";

/** Turns a failed fetch into a sentence that says what to check. */
export function unreachable(what: string, url: string, err: unknown): CliError {
  const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  return new CliError(`cannot reach ${what} at ${url} (${code}): is it running? (npm start)`);
}
