/**
 * pino's JSON lines as one readable line each, for a person at a terminal:
 * `20:31:02.114 WARN  gateway  stream settings differ  stream=WEBHOOKS diff={…}`.
 * `npm start` formats its services' lines with it on a terminal, and a service run by
 * itself with LOG_FORMAT=pretty. No colours: the line reads the same in a file.
 */
export type LogFormat = "json" | "pretty";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** Fields every line has, shown in the line's head instead of as key=value. */
const HEAD_FIELDS = new Set(["level", "time", "msg", "service", "name", "pid", "hostname", "v"]);

/** A pino record (the parsed JSON of one line). */
export type LogRecord = Record<string, unknown>;

/** The record of a JSON log line, or null for anything else (a plain line a process wrote). */
export function parseLogLine(line: string): LogRecord | null {
  if (!line.startsWith("{")) return null;
  try {
    const value = JSON.parse(line) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as LogRecord) : null;
  } catch {
    return null;
  }
}

function value(v: unknown): string {
  if (typeof v === "string") return /\s/.test(v) || v === "" ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** `HH:MM:SS.mmm` of the record's time, in UTC like the JSON it came from. */
function clock(time: unknown): string {
  const ms = typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : Number.NaN;
  return Number.isNaN(ms) ? "--:--:--.---" : new Date(ms).toISOString().slice(11, 23);
}

/** One line, no trailing newline. An error's stack follows on its own indented lines. */
export function formatLogRecord(
  record: LogRecord,
  service = String(record.service ?? record.name ?? ""),
): string {
  const level = LEVELS[Number(record.level)] ?? String(record.level ?? "");
  const fields: string[] = [];
  let stack = "";
  for (const [k, v] of Object.entries(record)) {
    if (HEAD_FIELDS.has(k) || v === undefined) continue;
    if (k === "err" && v && typeof v === "object") {
      const err = v as { message?: string; stack?: string; type?: string };
      fields.push(`err=${value(err.message ?? err.type ?? "error")}`);
      if (typeof err.stack === "string" && Number(record.level) >= 50)
        stack = `\n${err.stack
          .split("\n")
          .slice(1)
          .map((l) => `    ${l.trim()}`)
          .join("\n")}`;
      continue;
    }
    fields.push(`${k}=${value(v)}`);
  }
  const head = `${clock(record.time)} ${level.padEnd(5)} ${service.padEnd(20)} ${String(record.msg ?? "")}`;
  return `${head}${fields.length ? `  ${fields.join(" ")}` : ""}${stack}`;
}

/** LOG_FORMAT as given, else pretty only where a person reads a terminal. */
export function logFormat(env: NodeJS.ProcessEnv, isTerminal: boolean): LogFormat {
  const given = env.LOG_FORMAT?.trim().toLowerCase();
  if (given === "json" || given === "pretty") return given;
  return isTerminal ? "pretty" : "json";
}
