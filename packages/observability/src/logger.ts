import { type Logger, pino } from "pino";
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
}

export function createLogger({ name, level = "info", destination }: LoggerOptions): Logger {
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
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
