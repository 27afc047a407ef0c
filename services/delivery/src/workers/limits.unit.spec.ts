import { describe, expect, it } from "vitest";
import { Gate } from "./limits";

const tick = () => new Promise((r) => setImmediate(r));

describe("Gate", () => {
  it("runs at most `size` at once, the rest in arrival order, each push settling as its task does", async () => {
    const started: number[] = [];
    const finish = new Map<number, () => void>();
    let running = 0;
    let most = 0;
    const gate = new Gate<number>(2, (n) => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      return new Promise<void>((resolve) =>
        finish.set(n, () => {
          running--;
          resolve();
        }),
      );
    });
    const settled: number[] = [];
    for (const n of [1, 2, 3, 4, 5]) void gate.push(n).then(() => settled.push(n));
    await tick();
    expect(started).toEqual([1, 2]);
    finish.get(2)?.();
    await tick();
    expect(settled).toEqual([2]);
    expect(started).toEqual([1, 2, 3]);
    finish.get(1)?.();
    finish.get(3)?.();
    await tick();
    expect(started).toEqual([1, 2, 3, 4, 5]);
    finish.get(4)?.();
    finish.get(5)?.();
    await tick();
    expect(settled.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it("gives the turn on when a task fails", async () => {
    const started: string[] = [];
    const gate = new Gate<string>(1, async (s) => {
      started.push(s);
      if (s === "bad") throw new Error("boom");
    });
    await Promise.all([gate.push("bad"), gate.push("next")]);
    expect(started).toEqual(["bad", "next"]);
  });
});
