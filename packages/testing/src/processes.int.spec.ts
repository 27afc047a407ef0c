import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, spawnWatched, waitForPort } from "./processes";

const dir = mkdtempSync(join(tmpdir(), "hs-watched-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("waitForPort with the process that should open it", () => {
  it("fails at once with the server's own words when it refuses its config", async () => {
    const port = await freePort();
    const conf = join(dir, "bad.conf");
    // the roles test's old failure: a user whose password variable is unset
    writeFileSync(
      conf,
      `listen: 127.0.0.1:${port}\nauthorization { user: a, password: $HOOKSTREAM_UNSET_PASSWORD_VAR }\n`,
    );
    const server = spawnWatched("nats-server (bad config)", "nats-server", ["-c", conf], {
      env: { PATH: process.env.PATH ?? "" },
    });
    const error = await waitForPort(port, 15_000, server).then(
      () => null,
      (err: Error) => err,
    );
    // "exited", not "did not open within": the exit ended the wait, not the timeout
    expect(error?.message).toMatch(/nats-server \(bad config\): exited/);
    expect(error?.message).toContain("HOOKSTREAM_UNSET_PASSWORD_VAR");
  });

  it("resolves once the server listens", async () => {
    const port = await freePort();
    const server = spawnWatched("nats-server", "nats-server", ["-a", "127.0.0.1", "-p", String(port)]);
    try {
      await waitForPort(port, 15_000, server);
    } finally {
      server.child.kill("SIGKILL");
    }
  });
});
