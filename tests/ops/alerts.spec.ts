import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { promtool } from "./promtool";

const DIR = join(import.meta.dirname, "..", "..", "deploy", "observability");
const RUNBOOK = join(import.meta.dirname, "..", "..", "docs", "runbook.md");

interface AlertRule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
}

const rules: AlertRule[] = (
  parse(readFileSync(join(DIR, "alerts.yml"), "utf8")) as { groups: Array<{ rules: AlertRule[] }> }
).groups.flatMap((g) => g.rules);
const tests: RuleTest[] = (parse(readFileSync(join(DIR, "alerts.test.yml"), "utf8")) as { tests: RuleTest[] })
  .tests;

/** GitHub's anchor of a markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
}

describe("alert rules", () => {
  it("pass promtool check rules", () => {
    const r = promtool(["check", "rules", join(DIR, "alerts.yml")]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status, r.output).toBe(0);
  });

  it("pass their promtool unit tests", () => {
    const r = promtool(["test", "rules", join(DIR, "alerts.test.yml")]);
    expect(r.status, r.output).toBe(0);
  });

  it("cover the situations of the operations contract", () => {
    const names = rules.map((r) => r.alert);
    for (const name of [
      "HookstreamSignatureFailuresSpiking",
      "HookstreamGateway503s",
      "HookstreamConsumerLagGrowing",
      "HookstreamConsumerLagOld",
      "HookstreamDlqGrowing",
      "HookstreamHandlerFailureRatio",
      "HookstreamNoEventsReceived",
      "HookstreamServiceDown",
      "HookstreamProjectionBehind",
      "HookstreamNatsUnreachable",
      "HookstreamPostgresUnreachable",
      "HookstreamDestinationBreakerOpen",
      "HookstreamDestinationPausedBacklog",
      "HookstreamDestinationDeadLetters",
      "HookstreamDestinationFailing",
    ]) {
      expect(names).toContain(name);
    }
  });

  it("each have a summary, a description and a runbook section that exists", () => {
    const anchors = new Set(
      readFileSync(RUNBOOK, "utf8")
        .split("\n")
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => anchor(l.replace(/^#+ /, ""))),
    );
    for (const rule of rules) {
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? "";
      expect(url, rule.alert).toMatch(/^docs\/runbook\.md#/);
      expect(anchors, `${rule.alert}: ${url}`).toContain(url.split("#")[1]);
    }
  });

  it("each have a unit test that fires them and one that does not", () => {
    for (const rule of rules) {
      const cases = tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === rule.alert);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert} fires`,
      ).toBe(true);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert} stays quiet`,
      ).toBe(true);
    }
  });
});
