import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { deliverySeqOf, pendingOf, streamSeqOf } from "./streamSeq";

/** A message whose nats.js parse must not be reached. */
const fromReply = (reply: string | undefined) => ({
  reply,
  get seq(): number {
    throw new Error("parsed by nats.js");
  },
  get info(): { pending: number; deliverySequence: number } {
    throw new Error("parsed by nats.js");
  },
});

// nats.js's own message class (not exported: loaded from its file)
const require = createRequire(import.meta.url);
const { toJsMsg } = require(require.resolve("@nats-io/jetstream").replace(/mod\.js$/, "jsmsg.js")) as {
  toJsMsg(m: unknown): { seq: number; info: { pending: number; deliverySequence: number } };
};

describe("streamSeqOf and pendingOf", () => {
  it("read the old 9-token reply subject", () => {
    const m = fromReply("$JS.ACK.WEBHOOKS.audit.1.4711.17.1700000000000000000.3");
    expect(streamSeqOf(m)).toBe(4711);
    expect(pendingOf(m)).toBe(3);
    expect(deliverySeqOf(m)).toBe(17);
  });

  it("read the 11- and 12-token subjects (domain and account hash)", () => {
    const eleven = fromReply("$JS.ACK._.HASH.WEBHOOKS.audit.2.98765.4.1700000000000000000.0");
    expect(streamSeqOf(eleven)).toBe(98765);
    expect(pendingOf(eleven)).toBe(0);
    const twelve = fromReply("$JS.ACK.hub.HASH.WEBHOOKS.audit.1.12.4.1700000000000000000.250.x9Zk");
    expect(streamSeqOf(twelve)).toBe(12);
    expect(pendingOf(twelve)).toBe(250);
  });

  it("agree with nats.js's own parser on the subjects it reads", () => {
    for (const reply of [
      "$JS.ACK.S.c.1.42.1.1700000000000000000.0",
      "$JS.ACK.S.c.7.1.1.1700000000000000000.99999",
      "$JS.ACK.dom.acc.S.c.3.9007199254740991.7.1700000000000000000.5.r",
      "$JS.ACK._.acc.S.c.3.8.7.1700000000000000000.12",
    ]) {
      const js = toJsMsg({ reply, subject: "x", data: new Uint8Array(), sid: 1 });
      const ours = { reply, seq: 0, info: { pending: -1, deliverySequence: -1 } };
      expect(streamSeqOf(ours)).toBe(js.seq);
      expect(pendingOf(ours)).toBe(js.info.pending);
      expect(deliverySeqOf(ours)).toBe(js.info.deliverySequence);
    }
  });

  it("read each message's own numbers whatever subject was read before", () => {
    const a = fromReply("$JS.ACK.S.c.1.42.5.1700000000000000000.9");
    const b = fromReply("$JS.ACK.dom.acc.S.c.1.7.3.1700000000000000000.2.r");
    const other = { reply: "_INBOX.x.y.z.w.v.u.t.s", seq: 11, info: { pending: 12, deliverySequence: 13 } };
    for (let i = 0; i < 3; i++) {
      expect([streamSeqOf(a), deliverySeqOf(a), pendingOf(a)]).toEqual([42, 5, 9]);
      expect([streamSeqOf(other), deliverySeqOf(other), pendingOf(other)]).toEqual([11, 13, 12]);
      expect([pendingOf(b), streamSeqOf(b), deliverySeqOf(b)]).toEqual([2, 7, 3]);
      // the same text in another string: read alike
      const copy = fromReply(`$JS.ACK.S.c.1.42.5.1700000000000000000.${"9"}`);
      expect(streamSeqOf(copy)).toBe(42);
    }
  });

  it("fall back to nats.js for anything else", () => {
    const other = (reply: string | undefined) => ({
      reply,
      seq: 5,
      info: { pending: 6, deliverySequence: 7 },
    });
    for (const reply of ["_INBOX.abc", undefined, "$JS.ACK.S.c.x.notanumber.y.z.w", "$JS.ACK.S.c.1.2"]) {
      expect(streamSeqOf(other(reply))).toBe(5);
      expect(pendingOf(other(reply))).toBe(6);
      expect(deliverySeqOf(other(reply))).toBe(7);
    }
  });
});
