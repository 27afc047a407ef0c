/** How `npm start` shows its services' lines on a terminal (LOG_FORMAT=pretty). */
import { formatLogRecord, parseLogLine } from "@hookstream/observability";

/** What a pretty terminal shows of one line a service wrote: the line, or null to fold it away. */
export function shownLine(line: string, service: string, quiet: boolean): string | null {
  const record = parseLogLine(line);
  // a plain line (a configuration error's reasons) is meant for a person: always shown
  if (!record) return `${service.padEnd(20)} | ${line}`;
  if (quiet && Number(record.level) < 40) return null;
  return formatLogRecord(record, service);
}
