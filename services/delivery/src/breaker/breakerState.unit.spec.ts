import { describe, expect, it } from "vitest";
import { admit, CLOSED, onFailure, onSuccess, pause, resume, stateOf } from "./breakerState";

const policy = { failures: 3, pauseMs: 1_000, maxPauseMs: 3_000 };

describe("the shared breaker's steps", () => {
  it("opens on the Nth consecutive failure and lets nothing through until its retry time", () => {
    let s = CLOSED;
    for (let i = 0; i < 2; i++) {
      const r = onFailure(s, 10, policy, "503");
      expect(r.opened).toBe(false);
      s = r.next;
    }
    expect(admit(s, 10, 500)).toEqual({ kind: "go" });
    const opened = onFailure(s, 20, policy, "503");
    expect(opened.opened).toBe(true);
    expect(opened.next.retryAt).toBe(1_020);
    expect(stateOf(opened.next)).toBe("open");
    expect(admit(opened.next, 1_019, 500)).toEqual({ kind: "wait", untilMs: 1_020, why: "open" });
  });

  it("lets one probe through after the pause: a claim holds off the others until it ends", () => {
    const open = onFailure({ ...CLOSED, failures: 2 }, 0, policy, "x").next;
    const a = admit(open, 1_000, 500);
    expect(a.kind).toBe("probe");
    if (a.kind !== "probe") return;
    expect(admit(a.next, 1_100, 500)).toEqual({ kind: "wait", untilMs: 1_500, why: "open" });
    // the claim lapsed (its holder died): another may probe
    expect(admit(a.next, 1_500, 500).kind).toBe("probe");
  });

  it("doubles the pause on each failed probe up to the max; a success closes and forgets", () => {
    let s = onFailure({ ...CLOSED, failures: 2 }, 0, policy, "x").next; // open until 1 000
    s = onFailure(s, 1_000, policy, "x").next;
    expect(s.retryAt).toBe(3_000);
    s = onFailure(s, 3_000, policy, "x").next;
    expect(s.retryAt).toBe(6_000); // 4 s capped at 3 s
    // a failure of an attempt begun before the pause changes only the count
    const during = onFailure(s, 4_000, policy, "x");
    expect(during.opened).toBe(false);
    expect(during.next.retryAt).toBe(6_000);
    const closed = onSuccess(s);
    expect(closed).toMatchObject({ failures: 0, opens: 0, retryAt: null });
    expect(onSuccess(CLOSED)).toBeNull();
  });

  it("holds everything while paused by hand; resume closes the breaker too", () => {
    const open = onFailure({ ...CLOSED, failures: 2 }, 0, policy, "x").next;
    const paused = pause(open, "operator", 5, "maintenance");
    expect(stateOf(paused)).toBe("paused");
    expect(admit(paused, 10_000, 500)).toEqual({ kind: "wait", untilMs: null, why: "paused" });
    const resumed = resume(paused);
    expect(stateOf(resumed)).toBe("active");
    expect(admit(resumed, 10, 500)).toEqual({ kind: "go" });
  });
});
