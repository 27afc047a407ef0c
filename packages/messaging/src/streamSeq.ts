/**
 * The numbers of a JetStream message's reply subject read without building nats.js's
 * delivery info (`msg.seq` and `msg.info` split the subject into an array and parse
 * five numbers into a new object: 3.5 % of the audit's time per message and a large
 * part of a rebuild's replay, see BENCHMARKS.md). Reply subjects are
 *   `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` (9 tokens) or
 *   `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>[.<random>]`
 * (11 or 12); stream and consumer names never hold a dot. Anything else falls back to
 * nats.js's own parse, which throws for a message that is not JetStream's.
 */
interface JsReply {
  reply?: string;
  seq: number;
  info: { pending: number; deliverySequence: number };
}

/** Tokens after the stream sequence: the delivery sequence, the timestamp, the pending count. */
const DELIVERY_SEQ = 1;
const PENDING = 3;

// The last reply subject read and where its stream sequence starts: a message's numbers
// are read one after the other (a replay reads three of each message, then the stream
// sequence again), and the subject's dots are then counted once, not for each number
let lastReply: string | undefined;
let lastSeqStart = -1;

/** Where the stream sequence starts in a JetStream reply subject; -1 when the subject is not one. */
function seqTokenStart(reply: string): number {
  if (reply === lastReply) return lastSeqStart;
  let start = -1;
  if (reply.startsWith("$JS.ACK.")) {
    let dots = 0;
    for (let i = reply.indexOf("."); i !== -1; i = reply.indexOf(".", i + 1)) dots++;
    const seqToken = dots === 8 ? 5 : dots === 10 || dots === 11 ? 7 : -1;
    if (seqToken >= 0) {
      start = 0;
      for (let t = 0; t < seqToken; t++) start = reply.indexOf(".", start) + 1;
    }
  }
  lastReply = reply;
  lastSeqStart = start;
  return start;
}

/**
 * The number `after` tokens past the stream sequence in a JetStream reply subject (0:
 * the stream sequence itself); NaN when the subject is not one or the token is not a
 * non-negative safe integer.
 */
function replyNumber(reply: string | undefined, after: number): number {
  if (reply === undefined) return Number.NaN;
  let start = seqTokenStart(reply);
  if (start < 0) return Number.NaN;
  for (let t = 0; t < after; t++) start = reply.indexOf(".", start) + 1;
  const end = reply.indexOf(".", start);
  const text = end === -1 ? reply.slice(start) : reply.slice(start, end);
  const n = text === "" ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : Number.NaN;
}

/** The stream sequence of a JetStream message. */
export function streamSeqOf(msg: Pick<JsReply, "reply" | "seq">): number {
  const seq = replyNumber(msg.reply, 0);
  return seq > 0 ? seq : msg.seq;
}

/** The consumer's delivery sequence of a JetStream message (1, 2, 3… for each message it delivers). */
export function deliverySeqOf(msg: Pick<JsReply, "reply"> & { info: { deliverySequence: number } }): number {
  const dseq = replyNumber(msg.reply, DELIVERY_SEQ);
  return Number.isNaN(dseq) ? msg.info.deliverySequence : dseq;
}

/** How many messages the consumer still had to deliver after this one (the reply's `pending`). */
export function pendingOf(msg: Pick<JsReply, "reply"> & { info: { pending: number } }): number {
  const pending = replyNumber(msg.reply, PENDING);
  return Number.isNaN(pending) ? msg.info.pending : pending;
}

// Buffer's own UTF-8 slice works on any Uint8Array and skips TextDecoder's per-call setup
// (a third of a small payload's decode); invalid bytes become U+FFFD alike
const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;

/** A message's bytes (its payload, or its header block up to `end`) as UTF-8 text. */
export function messageText(bytes: Uint8Array, end = bytes.length): string {
  return utf8Slice.call(bytes, 0, end);
}
