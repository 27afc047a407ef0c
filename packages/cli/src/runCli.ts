import { Writable } from "node:stream";
import { main } from "./main";

export interface CliRun {
  /** the exit code `hookstream` would end with */
  code: number;
  out: string;
  err: string;
}

function sink(append: (s: string) => void): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      append(String(chunk));
      cb();
    },
  });
}

/**
 * Runs the CLI in this process, as `hookstream <argv…>` with exactly `env` as its
 * environment (nothing of the test's own process.env leaks in), and collects what it
 * writes to stdout and stderr.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await main(argv, {
    env,
    out: sink((s) => {
      out += s;
    }),
    err: sink((s) => {
      err += s;
    }),
  });
  return { code, out, err };
}
