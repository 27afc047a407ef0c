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
  info: { pending: number };
}

/** Index of the stream sequence token in a reply subject with `dots` dots, or -1. */
function seqToken(dots: number): number {
  return dots === 8 ? 5 : dots === 10 || dots === 11 ? 7 : -1;
}

/** The number in token `index` (and the 3 after it when `plus` is 3) of a reply subject; NaN if not one. */
function replyNumber(reply: string, index: number, plus = 0): number {
  let start = 0;
  for (let t = 0; t < index + plus; t++) {
    start = reply.indexOf(".", start) + 1;
    if (start === 0) return Number.NaN;
  }
  const end = reply.indexOf(".", start);
  const text = end === -1 ? reply.slice(start) : reply.slice(start, end);
  const n = text === "" ? Number.NaN : Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : Number.NaN;
}

function dotsIn(reply: string): number {
  let dots = 0;
  for (let i = reply.indexOf("."); i !== -1; i = reply.indexOf(".", i + 1)) dots++;
  return dots;
}

/** The stream sequence of a JetStream message. */
export function streamSeqOf(msg: Pick<JsReply, "reply" | "seq">): number {
  const reply = msg.reply;
  if (reply === undefined || !reply.startsWith("$JS.ACK.")) return msg.seq;
  const index = seqToken(dotsIn(reply));
  const seq = index < 0 ? Number.NaN : replyNumber(reply, index);
  return seq > 0 ? seq : msg.seq;
}

/** The consumer's delivery sequence of a JetStream message (1, 2, 3… for each message it delivers). */
export function deliverySeqOf(msg: Pick<JsReply, "reply"> & { info: { deliverySequence: number } }): number {
  const reply = msg.reply;
  if (reply === undefined || !reply.startsWith("$JS.ACK.")) return msg.info.deliverySequence;
  const index = seqToken(dotsIn(reply));
  const dseq = index < 0 ? Number.NaN : replyNumber(reply, index, 1);
  return Number.isNaN(dseq) ? msg.info.deliverySequence : dseq;
}

/** How many messages the consumer still had to deliver after this one (the reply's `pending`). */
export function pendingOf(msg: Pick<JsReply, "reply" | "info">): number {
  const reply = msg.reply;
  if (reply === undefined || !reply.startsWith("$JS.ACK.")) return msg.info.pending;
  const index = seqToken(dotsIn(reply));
  // pending is the third token after the stream sequence (sseq, dseq, ts, pending)
  const pending = index < 0 ? Number.NaN : replyNumber(reply, index, 3);
  return Number.isNaN(pending) ? msg.info.pending : pending;
}
