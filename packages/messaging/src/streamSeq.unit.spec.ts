import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { streamSeqOf } from "./streamSeq";

const fallback = (reply: string | undefined) => ({
  reply,
  get seq(): number {
    throw new Error("parsed by nats.js");
  },
});

describe("streamSeqOf", () => {
  it("reads the stream sequence of the old 9-token reply subject", () => {
    expect(streamSeqOf(fallback("$JS.ACK.WEBHOOKS.audit.1.4711.17.1700000000000000000.3"))).toBe(4711);
  });

  it("reads it from the 11- and 12-token subjects (domain and account hash)", () => {
    expect(streamSeqOf(fallback("$JS.ACK._.HASH.WEBHOOKS.audit.2.98765.4.1700000000000000000.0"))).toBe(
      98765,
    );
    expect(streamSeqOf(fallback("$JS.ACK.hub.HASH.WEBHOOKS.audit.1.12.4.1700000000000000000.0.x9Zk"))).toBe(
      12,
    );
  });

  it("agrees with nats.js's own parser on subjects it builds", async () => {
    // nats.js's own message class (not exported: loaded from its file)
    const require = createRequire(import.meta.url);
    const { toJsMsg } = require(require.resolve("@nats-io/jetstream").replace(/mod\.js$/, "jsmsg.js")) as {
      toJsMsg(m: unknown): { seq: number };
    };
    for (const reply of [
      "$JS.ACK.S.c.1.42.1.1700000000000000000.0",
      "$JS.ACK.dom.acc.S.c.3.9007199254740991.7.1700000000000000000.5.r",
    ]) {
      const js = toJsMsg({ reply, subject: "x", data: new Uint8Array(), sid: 1 });
      expect(streamSeqOf({ reply, seq: 0 })).toBe(js.seq);
    }
  });

  it("falls back to msg.seq for anything else", () => {
    expect(streamSeqOf({ reply: "_INBOX.abc", seq: 5 })).toBe(5);
    expect(streamSeqOf({ reply: undefined, seq: 6 })).toBe(6);
    expect(streamSeqOf({ reply: "$JS.ACK.S.c.1.notanumber.1.1.0", seq: 7 })).toBe(7);
    expect(streamSeqOf({ reply: "$JS.ACK.S.c.1.2", seq: 8 })).toBe(8);
  });
});
