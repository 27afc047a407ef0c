import type { Writable } from "node:stream";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { z } from "zod";
import { didYouMean } from "./suggest";

export interface CommandContext {
  env: NodeJS.ProcessEnv;
  out: Writable;
  err: Writable;
  /** ends a long-running command (tail) as Ctrl-C would; the process's SIGINT when unset */
  signal?: AbortSignal;
}

/** One CLI command; `run` returns the exit code. */
export interface Command {
  name: string;
  /**
   * The synopsis and what the command does. `hookstream <command> --help` prints it, and
   * so does every usage error; `tests/cliHelp.spec.ts` holds every command to a usage
   * that starts `hookstream <name>` and offers `--json`.
   */
  usage: string;
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** A failure the user can fix: printed as one line without a stack, exit code 1 (2 for usage). */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * node:util parseArgs with the CLI's manners: an unknown or malformed option is a
 * usage error (exit 2) that names the option, suggests the nearest known one and
 * prints the usage. Positionals are allowed; a command that takes none says so itself.
 */
export function parseOptions<const T extends Options>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    if (unknown) {
      const names = Object.keys(options).map((o) => `--${o}`);
      throw new CliError(`unknown option ${unknown}.${didYouMean(unknown, names, (s) => s)}\n${usage}`, 2);
    }
    throw new CliError(`${message.split(". ")[0]}\n${usage}`, 2);
  }
}

/** A choice from a fixed list, or a usage error listing the valid ones. */
export function oneOf<T extends string>(
  option: string,
  value: string | undefined,
  valid: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((valid as readonly string[]).includes(value)) return value as T;
  throw new CliError(
    `--${option} "${value}" is not one of: ${valid.join(", ")}.${didYouMean(value, valid)}`,
    2,
  );
}

/**
 * What a command sends, checked with the admin API's own schema (packages/contracts)
 * before it goes: a value the API would refuse is a usage error (exit 2) naming the
 * option, with the schema's words. `options` maps a request field to its option when
 * the names differ (`eventId` → `event`). Returns the value as given.
 */
export function checkRequest<T>(
  schema: z.ZodType,
  value: T,
  usage: string,
  options: Record<string, string> = {},
): T {
  const r = schema.safeParse(value);
  if (r.success) return value;
  const issue = r.error.issues[0];
  const field = String(issue?.path[0] ?? "");
  const option = options[field] ?? field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  throw new CliError(
    `${option ? `--${option}` : "the request"}: ${issue?.message ?? "invalid"}\n${usage}`,
    2,
  );
}
