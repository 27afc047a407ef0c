import { describe, expect, it } from "vitest";
import { InFlight } from "./inFlight";

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("InFlight", () => {
  it("answers at once under its limit and waits for one to finish at it", async () => {
    const work = new InFlight(2);
    const a = deferred();
    const b = deferred();
    expect(work.add(a.promise)).toBeUndefined();
    const full = work.add(b.promise);
    expect(full).toBeInstanceOf(Promise);
    expect(work.size).toBe(2);
    let room = false;
    void full?.then(() => {
      room = true;
    });
    await tick();
    expect(room).toBe(false);
    b.resolve();
    await tick();
    expect(room).toBe(true);
    expect(work.size).toBe(1);
  });

  it("makes room when work fails as when it succeeds", async () => {
    const work = new InFlight(1);
    const a = deferred();
    const full = work.add(a.promise);
    a.reject(new Error("boom"));
    await expect(full).resolves.toBeUndefined();
    expect(work.size).toBe(0);
  });

  it("drains: resolves once everything added has finished, failures included", async () => {
    const work = new InFlight(10);
    const a = deferred();
    const b = deferred();
    work.add(a.promise);
    work.add(b.promise);
    let drained = false;
    const done = work.drain().then(() => {
      drained = true;
    });
    a.resolve();
    await tick();
    expect(drained).toBe(false);
    b.reject(new Error("late"));
    await done;
    expect(drained).toBe(true);
  });
});
