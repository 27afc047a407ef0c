/**
 * A CLI people can guess (issue 26): every command of the command table answers
 * `--help` with its usage and exit 0, offers `--json`, and a group (`dlq`) lists its
 * commands; typos get a suggestion; names from a fixed list are listed when wrong.
 * None of these reach a service: nothing here needs NATS or Postgres.
 */
import { COMMANDS, runCli, version } from "@hookstream/cli";
import { HANDLER_NAMES } from "@hookstream/contracts";
import { describe, expect, it } from "vitest";

describe("hookstream --help", () => {
  it("lists every command with its summary", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toContain(`${c.name}  `);
  });

  for (const c of COMMANDS) {
    it(`${c.name} --help prints its usage and exits 0`, async () => {
      for (const argv of [
        [...c.name.split(" "), "--help"],
        [...c.name.split(" "), "-h"],
        ["help", ...c.name.split(" ")],
      ]) {
        const r = await runCli(argv);
        expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(0);
        expect(r.out.startsWith(`hookstream ${c.name}`), r.out).toBe(true);
        expect(r.err).toBe("");
      }
    });

    it(`${c.name} offers --json`, async () => {
      expect((await c.load()).usage).toContain("--json");
    });
  }

  it("--help wins over any other argument, before --", async () => {
    const r = await runCli(["send", "fine_tuning.job.succeeded", "--data", "{nope", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^hookstream send <type>/);
  });
});

describe("command groups", () => {
  // a prefix that is itself a command (`destinations` lists the destinations) runs that command instead
  const groups = [
    ...new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0] as string)),
  ].filter((g) => !COMMANDS.some((c) => c.name === g));

  it.each(groups)("`hookstream %s` lists its commands and exits 0", async (group) => {
    for (const argv of [[group], [group, "--help"], ["help", group]]) {
      const r = await runCli(argv as string[]);
      expect(r.code, r.err).toBe(0);
      for (const c of COMMANDS.filter((x) => x.name.startsWith(`${group} `)))
        expect(r.out).toContain(c.name.slice((group as string).length + 1));
    }
  });

  it("an unknown subcommand suggests the nearest one", async () => {
    const r = await runCli(["dlq", "lst"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Did you mean "dlq list"?');
  });
});

describe("typos and bad values", () => {
  it("--version prints the version", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`hookstream ${version()}\n`);
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("a mistyped command gets a suggestion and exit 2", async () => {
    const r = await runCli(["evnts"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "evnts". Did you mean "events"?');
  });

  it("a mistyped option gets a suggestion and the usage", async () => {
    const r = await runCli(["events", "--stauts", "failed"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown option --stauts. Did you mean --status?");
    expect(r.err).toContain("hookstream events [");
  });

  it.each([
    ["replay", "--handler", "fine_tuning"],
    ["dlq", "list", "--handler", "fine_tuning"],
  ])("a bad --handler lists the valid names (%s)", async (...argv) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`is not one of: ${HANDLER_NAMES.join(", ")}`);
    expect(r.err).toContain('Did you mean "fine-tuning"?');
  });

  it("a bad --status lists the valid ones", async () => {
    const r = await runCli(["events", "--status", "done"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not one of: pending, processed, failed, ignored, dead");
  });
});
