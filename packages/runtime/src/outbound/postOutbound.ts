import { type HeaderCarrier, type Span, withClientSpan, withClientSpanOf } from "@hookstream/observability";
import { Agent, type Dispatcher } from "undici";
import { maskUrl } from "./maskUrl";

/** Most bytes of a receiver's answer read (the rest is dropped, the connection closed). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OutboundRequest {
  url: string;
  /** the exact text sent (a signature covers these bytes) */
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** default MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
  /**
   * the message whose trace the call continues (its `traceparent`), for a service that
   * carries traces by hand; without it, the active context's trace
   */
  traceOf?: HeaderCarrier;
}

/** Why an attempt failed: an answer outside 2xx, a redirect, no answer in time, or none at all. */
export type OutboundFailure = "status" | "redirect" | "timeout" | "network";

export type OutboundResult = (
  | { ok: true; status: number; body: Buffer; truncated: boolean }
  | {
      ok: false;
      reason: OutboundFailure;
      /** the status answered, null when none came */
      status: number | null;
      /** says what happened with the URL masked: safe for logs, the delivery log and DLQ headers */
      message: string;
      body: Buffer;
    }
) & {
  /** the trace the call went out in (for log lines), when there is one */
  traceId?: string | undefined;
};

/**
 * Keep-alive connections per origin, one pool per process (undici's Agent: bench group
 * `delivery` measured its POST loop at about 1.5× node:http's rate, a third less CPU a
 * request): a destination's next request reuses a connection instead of opening one (and
 * a TLS session) each time. An idle connection is closed after 4 s, before the 5 s a Node
 * server keeps one (its default keepAliveTimeout), or sooner when the receiver announces
 * less (`Keep-Alive: timeout=…`, less a margin); undici also looks at an idle connection
 * before it writes to it again, so a request is not written to one the receiver closed.
 * Timeouts are this module's own (`timeoutMs` a request), not undici's.
 */
const IDLE_SOCKET_MS = 4_000;
/** the longest a TCP (and TLS) connect may take, whatever the request's timeout */
const CONNECT_TIMEOUT_MS = 30_000;
const pool = new Agent({
  keepAliveTimeout: IDLE_SOCKET_MS,
  keepAliveMaxTimeout: IDLE_SOCKET_MS,
  headersTimeout: 0,
  bodyTimeout: 0,
  connect: { timeout: CONNECT_TIMEOUT_MS },
});

/** A destination's URL parsed once (destinations are few). */
interface Target {
  url: URL;
  origin: string;
  path: string;
  /** Basic credentials of a URL that carries them (`https://user:pass@host/…`), as node:http sent them */
  authorization: string | null;
}
const targets = new Map<string, Target>();
function targetOf(raw: string): Target {
  let t = targets.get(raw);
  if (!t) {
    const url = new URL(raw);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    const credentials =
      url.username || url.password
        ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
        : null;
    t = {
      url,
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      authorization: credentials ? `Basic ${Buffer.from(credentials).toString("base64")}` : null,
    };
    if (targets.size >= 1_000) targets.clear();
    targets.set(raw, t);
  }
  return t;
}

class AttemptTimeout extends Error {
  override readonly name = "AttemptTimeout";
}
/** the bound of the answer reached: the rest is dropped unread, the connection with it */
class AnswerBound extends Error {
  override readonly name = "AnswerBound";
}

interface Answer {
  status: number;
  location: string | undefined;
  body: Buffer;
  truncated: boolean;
}

/**
 * One POST on a pooled connection, through undici's dispatcher (no response stream,
 * no AbortController: its handler gets the answer's parts as they come). Rejects when no
 * answer comes (AttemptTimeout past the deadline, or the connection's error); once the
 * status is known, a body cut short by the deadline or the bound is kept as read,
 * `truncated`.
 */
function send(target: Target, headers: Record<string, string>, body: Buffer, deadline: number, max: number) {
  return new Promise<Answer>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    let status = 0;
    let location: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (truncated: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, location, body: Buffer.concat(chunks, size), truncated });
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    // the deadline: the request is aborted where it is (a request still waiting for its
    // connection is aborted as soon as it gets one); the attempt ends now either way
    const timer = setTimeout(
      () => {
        const timeout = new AttemptTimeout();
        controller?.abort(timeout);
        if (status > 0) finish(true);
        else fail(timeout);
      },
      Math.max(0, deadline - Date.now()),
    );
    pool.dispatch(
      { origin: target.origin, path: target.path, method: "POST", headers, body },
      {
        onRequestStart(c) {
          controller = c;
          if (settled) c.abort(new AttemptTimeout());
        },
        onResponseStart(_c, statusCode, answerHeaders) {
          // an informational answer (1xx) is not the answer
          if (statusCode < 200) return;
          status = statusCode;
          const loc = answerHeaders.location;
          location = Array.isArray(loc) ? loc[0] : loc;
        },
        onResponseData(c, chunk) {
          if (settled) return;
          const room = max - size;
          chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
          size += Math.min(room, chunk.length);
          if (size >= max) {
            finish(true);
            c.abort(new AnswerBound());
          }
        },
        onResponseEnd() {
          finish(false);
        },
        onResponseError(_c, err) {
          // the deadline or the bound cut the answer short: its status is known all the same
          if (status > 0) finish(true);
          else fail(err);
        },
      },
    );
  });
}

/**
 * The one way hookstream calls out over HTTP (notifications, the deploy hook, delivery
 * destinations): a POST in a CLIENT span carrying the trace on, within `timeoutMs`
 * (connection, answer and reading it), on a kept-alive connection.
 * - A redirect is not followed: a 3xx is a failed attempt, as Standard Webhooks asks;
 *   following it would send the signed body wherever it points.
 * - At most `maxResponseBytes` of the answer are read: a receiver cannot hold memory
 *   or the attempt with an endless body.
 * - A kept-alive connection the receiver closed as the request went out is tried once
 *   more on a new one (isStaleConnection), as browsers do.
 * - The URL shows only with its path masked, in the span and in every message.
 * Never throws: the result says how it went.
 */
export function postOutbound(req: OutboundRequest): Promise<OutboundResult> {
  const shown = maskUrl(req.url);
  let target: Target;
  try {
    target = targetOf(req.url);
  } catch {
    return Promise.resolve({
      ok: false,
      reason: "network",
      status: null,
      message: `POST ${shown}: not a URL`,
      body: Buffer.alloc(0),
    });
  }
  const name = `POST ${target.url.host}`;
  const attributes = {
    "http.request.method": "POST",
    "server.address": target.url.hostname,
    "url.full": shown,
  };
  const call = async (
    traceHeaders: Record<string, string>,
    span: Span,
    traceId: string | undefined,
  ): Promise<OutboundResult> => {
    const failed = (
      reason: OutboundFailure,
      status: number | null,
      message: string,
      body: Buffer = Buffer.alloc(0),
    ) => ({ ok: false, reason, status, message: `POST ${shown} ${message}`, body, traceId }) as const;
    const headers = {
      ...(target.authorization ? { authorization: target.authorization } : {}),
      ...req.headers,
      ...traceHeaders,
    };
    const body = Buffer.from(req.body, "utf8");
    const max = req.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    const deadline = Date.now() + req.timeoutMs;
    let res: Answer;
    try {
      res = await send(target, headers, body, deadline, max).catch((err: unknown) => {
        if (!isStaleConnection(err) || Date.now() >= deadline) throw err;
        return send(target, headers, body, deadline, max);
      });
    } catch (err) {
      return err instanceof AttemptTimeout
        ? failed("timeout", null, `got no answer within ${req.timeoutMs} ms`)
        : failed("network", null, `failed: ${causeOf(err)}`);
    }
    span.setAttribute("http.response.status_code", res.status);
    if (res.status >= 300 && res.status < 400) {
      const to =
        res.location && URL.canParse(res.location, target.url.href)
          ? ` to ${maskUrl(new URL(res.location, target.url))}`
          : "";
      return failed(
        "redirect",
        res.status,
        `answered ${res.status} (a redirect${to}); redirects are not followed`,
        res.body,
      );
    }
    if (res.status < 200 || res.status >= 300)
      return failed("status", res.status, `answered ${res.status}`, res.body);
    return { ok: true, status: res.status, body: res.body, truncated: res.truncated, traceId };
  };
  return req.traceOf
    ? withClientSpanOf(req.traceOf, name, attributes, call)
    : withClientSpan(name, attributes, (headers, span) => call(headers, span, undefined));
}

/**
 * A kept-alive connection the receiver closed as the request went out on it, before any
 * answer. undici looks at an idle connection before it reuses it, but a close that arrives
 * just after the request was written still fails it; the request is then sent once more on
 * a new connection, as browsers do. A close (UND_ERR_SOCKET) counts only on a connection
 * that had answered before (it had read bytes); a reset or broken pipe (ECONNRESET, EPIPE)
 * reaches here as Node's bare error, without the connection's counts, so it counts always.
 */
function isStaleConnection(err: unknown): boolean {
  const e = err as { code?: unknown; socket?: { bytesRead?: unknown } } | null;
  if (e?.code === "ECONNRESET" || e?.code === "EPIPE") return true;
  return e?.code === "UND_ERR_SOCKET" && typeof e.socket?.bytesRead === "number" && e.socket.bytesRead > 0;
}

/** Node's error code (ECONNREFUSED, ENOTFOUND, …) or its message; never the URL. */
function causeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  return err instanceof Error ? err.message : String(err);
}
