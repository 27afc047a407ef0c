import { describe, expect, it } from "vitest";
import { formatLogRecord, logFormat, parseLogLine } from "./prettyLog";

describe("pretty log lines", () => {
  it("writes a pino record as one line: time, level, service, message, fields", () => {
    const line =
      '{"level":40,"time":"2026-12-06T20:31:02.114Z","service":"gateway","name":"gateway","msg":"stream settings differ","stream":"WEBHOOKS","diff":{"max_age":[1,2]}}';
    const record = parseLogLine(line);
    expect(record).not.toBeNull();
    expect(formatLogRecord(record ?? {})).toBe(
      '20:31:02.114 WARN  gateway              stream settings differ  stream=WEBHOOKS diff={"max_age":[1,2]}',
    );
  });

  it("gives an error's message on the line and its stack below only for errors", () => {
    const record = {
      level: 50,
      time: 0,
      service: "audit",
      msg: "boom",
      err: { message: "no database", stack: "Error: no database\n    at x (y.js:1:1)" },
    };
    expect(formatLogRecord(record).split("\n")).toEqual([
      '00:00:00.000 ERROR audit                boom  err="no database"',
      "    at x (y.js:1:1)",
    ]);
  });

  it("leaves anything that is not a JSON record alone", () => {
    expect(parseLogLine("gateway: invalid configuration:")).toBeNull();
    expect(parseLogLine("{not json")).toBeNull();
  });

  it("is pretty on a terminal, JSON elsewhere, unless LOG_FORMAT says", () => {
    expect(logFormat({}, true)).toBe("pretty");
    expect(logFormat({}, false)).toBe("json");
    expect(logFormat({ LOG_FORMAT: "json" }, true)).toBe("json");
    expect(logFormat({ LOG_FORMAT: "pretty" }, false)).toBe("pretty");
  });
});
