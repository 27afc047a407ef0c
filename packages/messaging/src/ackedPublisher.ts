import type { PubAck } from "@nats-io/jetstream";
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";

/** What a publish of an event needs: its id for dedup, its headers, a bound on the ack. */
export interface AckedPublishOptions {
  /** `Nats-Msg-Id`: JetStream drops a second message with this id within the duplicate window */
  msgID: string;
  /** the message's headers; `Nats-Msg-Id` is appended to them (a fresh set per publish) */
  headers: MsgHdrs;
  /** reject when no ack arrived within this many ms (the wait includes a reconnect's buffering) */
  timeout: number;
}

/** A JetStream publish awaited for its ack. nats.js's `JetStreamClient` has this shape. */
export interface EventPublisher {
  publish(subject: string, data: Uint8Array, opts: AckedPublishOptions): Promise<PubAck>;
}

/** The publish was not acknowledged: no stream, a JetStream error, a timeout or a closed connection. */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly reason: "no_stream" | "jetstream" | "timeout" | "closed",
  ) {
    super(message);
    this.name = "PublishError";
  }
}

interface Pending {
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
  subject: string;
  deadline: number;
}

/** How often the pending publishes are checked for their deadline. */
const SWEEP_MS = 50;

export interface AckedPublisher extends EventPublisher {
  /** publishes waiting for their ack */
  pending(): number;
  /** rejects what is pending and stops listening (before the connection drains) */
  close(): void;
}

/**
 * JetStream publishes awaited for their ack, as `js.publish` does — a core publish with
 * a reply subject, answered by the stream with a PubAck or an error — over one reply
 * subscription and one deadline sweep for all of them.
 *
 * Why not `js.publish` on the gateway's hot path: nats.js settles each request by
 * cancelling it, which constructs an `Error` (a stack captured) even after success, and
 * arms one timer per request. Under load that was ~6 % of the gateway's CPU per
 * request, the largest single cost it had (BENCHMARKS.md, "Gateway"). Here a request
 * costs a map entry and a promise; the ack is parsed as `js.publish` parses it.
 *
 * Same answers as `js.publish`: the PubAck (`duplicate` true when the msgID was seen in
 * the duplicate window); a rejection when no stream takes the subject (the server's
 * no-responders status), when JetStream answers an error, when no ack came within
 * `timeout` (the timer runs while a reconnect buffers the publish), or when the
 * connection closes. A publish refused by the server's permissions is reported only
 * asynchronously by NATS: it ends as a timeout.
 */
export function ackedPublisher(nc: NatsConnection, opts: { inboxPrefix?: string } = {}): AckedPublisher {
  const prefix = `${createInbox(opts.inboxPrefix)}.`;
  const waiting = new Map<string, Pending>();
  let next = 0;
  let closed = false;

  const settle = (token: string): Pending | undefined => {
    const p = waiting.get(token);
    if (p) waiting.delete(token);
    return p;
  };
  const rejectAll = (why: string, reason: PublishError["reason"]) => {
    for (const [token, p] of waiting) {
      waiting.delete(token);
      p.reject(new PublishError(`${why} (publish to ${p.subject})`, reason));
    }
  };

  const sub = nc.subscribe(`${prefix}*`, {
    callback(err: Error | null, msg: Msg) {
      if (err) {
        // the reply subscription itself failed (a permission on the inbox): nothing will be acked
        rejectAll(`the reply subscription failed: ${err.message}`, "closed");
        return;
      }
      const p = settle(msg.subject.slice(prefix.length));
      if (!p) return; // timed out already
      if (msg.data.length === 0 && msg.headers?.code === 503) {
        p.reject(new PublishError(`no stream takes the subject ${p.subject}`, "no_stream"));
        return;
      }
      let answer: Partial<PubAck> & { error?: { code?: number; err_code?: number; description?: string } };
      try {
        answer = msg.json();
      } catch {
        p.reject(new PublishError(`JetStream answered a publish to ${p.subject} with no JSON`, "jetstream"));
        return;
      }
      if (answer.error || typeof answer.stream !== "string" || answer.stream === "") {
        const e = answer.error;
        p.reject(
          new PublishError(
            e
              ? `JetStream refused a publish to ${p.subject}: ${e.description ?? "error"} (${e.err_code ?? e.code})`
              : `JetStream answered a publish to ${p.subject} with an invalid ack`,
            "jetstream",
          ),
        );
        return;
      }
      p.resolve({
        stream: answer.stream,
        seq: answer.seq ?? 0,
        duplicate: answer.duplicate === true,
        ...(answer.domain ? { domain: answer.domain } : {}),
      });
    },
  });

  // the map keeps insertion order and every publish of one caller has the same kind of
  // bound, so the expired ones are mostly at the front; a longer bound further in is
  // found on a later sweep (at most SWEEP_MS late)
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [token, p] of waiting) {
      if (p.deadline > now) continue;
      waiting.delete(token);
      p.reject(
        new PublishError(`JetStream did not acknowledge a publish to ${p.subject} in time`, "timeout"),
      );
    }
  }, SWEEP_MS);
  sweep.unref();
  void nc.closed().then(() => {
    clearInterval(sweep);
    rejectAll("the NATS connection closed", "closed");
  });

  return {
    publish(subject, data, o) {
      if (closed || nc.isClosed())
        return Promise.reject(new PublishError(`the publisher is closed (publish to ${subject})`, "closed"));
      const token = (next++).toString(36);
      return new Promise<PubAck>((resolve, reject) => {
        o.headers.append("Nats-Msg-Id", o.msgID);
        waiting.set(token, { resolve, reject, subject, deadline: performance.now() + o.timeout });
        try {
          nc.publish(subject, data, { reply: prefix + token, headers: o.headers });
        } catch (err) {
          // an invalid subject, a payload over max_payload, a connection closing
          settle(token);
          reject(err);
        }
      });
    },
    pending: () => waiting.size,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      sub.unsubscribe();
      rejectAll("the publisher closed", "closed");
    },
  };
}
