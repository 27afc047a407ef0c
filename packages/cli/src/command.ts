import type { Writable } from "node:stream";

export interface CommandContext {
  env: NodeJS.ProcessEnv;
  out: Writable;
  err: Writable;
}

/** One CLI command; `run` returns the exit code. */
export interface Command {
  name: string;
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
