import { type Logger, pino } from "pino";
import { formatLogRecord, parseLogLine } from "./prettyLog";
import { currentTraceId } from "./tracing";

/**
 * Paths never written to a log: secrets, tokens and signatures. A signature is
 * not a secret, but it is a credential for that one body, so it stays out too.
 */
export const REDACT_PATHS = [
  "secret",
  "secrets",
  "*.secret",
  "*.secrets",
  "apiKey",
  "*.apiKey",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  'headers["webhook-signature"]',
  'req.headers["webhook-signature"]',
  "req.headers.authorization",
  "signature",
  "*.signature",
  'headers["Webhook-Signature"]',
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** where to write; stdout by default (tests pass a stream to read it back) */
  destination?: pino.DestinationStream;
  /**
   * `pretty`: one readable line per record instead of JSON (LOG_FORMAT=pretty, for a
   * service run by itself at a terminal; `npm start` formats JSON lines itself)
   */
  format?: "json" | "pretty";
  /**
   * JSON lines to stdout written asynchronously: a line is queued and written with the
   * lines queued behind it, instead of one blocking write(2) per line (a third of the
   * gateway's cost beyond its minimal reference, BENCHMARKS.md "Gateway"). pino writes
   * what is queued when the process exits (process.exit included); a SIGKILL loses what
   * was queued and not yet written, at most the lines of the last few milliseconds.
   * Off by default: a short-lived logger (a CLI, start-up errors) writes each line at once.
   */
  buffered?: boolean;
}

/** Writes each JSON record as a readable line to stdout. */
const prettyStdout: pino.DestinationStream = {
  write(line: string) {
    const record = parseLogLine(line.trimEnd());
    process.stdout.write(record ? `${formatLogRecord(record)}\n` : line);
  },
};

export function createLogger({ name, level = "info", destination, format, buffered }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // a line written while a message or request is worked on names its trace
    mixin() {
      const traceId = currentTraceId();
      return traceId ? { trace_id: traceId } : {};
    },
  };
  const to =
    destination ??
    (format === "pretty"
      ? prettyStdout
      : buffered
        ? pino.destination({ dest: 1, sync: false, minLength: 0 })
        : undefined);
  return to ? pino(options, to) : pino(options);
}

export type { Logger };
