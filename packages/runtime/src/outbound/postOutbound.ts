import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import { type HeaderCarrier, type Span, withClientSpan, withClientSpanOf } from "@hookstream/observability";
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
 * Keep-alive connections per origin, one pool per process: a destination's next request
 * reuses a connection instead of opening one (and a TLS session) each time. An idle
 * connection is closed after 4 s, before the 5 s a Node server keeps one (its default
 * keepAliveTimeout), so a request is not written to a connection the receiver is closing.
 */
const IDLE_SOCKET_MS = 4_000;
const agents = {
  "http:": new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: "lifo" }),
  "https:": new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: "lifo" }),
};

/** A destination's URL parsed once, with node:http's options for it (destinations are few). */
interface Target {
  url: URL;
  options: http.RequestOptions;
}
const targets = new Map<string, Target>();
function targetOf(raw: string): Target {
  let t = targets.get(raw);
  if (!t) {
    const url = new URL(raw);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    t = { url, options: urlToHttpOptions(url) };
    if (targets.size >= 1_000) targets.clear();
    targets.set(raw, t);
  }
  return t;
}

class AttemptTimeout extends Error {
  override readonly name = "AttemptTimeout";
}

interface Answer {
  status: number;
  location: string | undefined;
  body: Buffer;
  truncated: boolean;
}

/**
 * One POST on a pooled connection (node:http, not fetch: bench group `delivery` measured
 * fetch at a quarter of its rate). Rejects when no answer comes (AttemptTimeout past the
 * deadline, or the socket's error); once the status is known, a body cut short by the
 * deadline or the bound is kept as read, `truncated`.
 */
function send(target: Target, headers: Record<string, string>, body: Buffer, deadline: number, max: number) {
  return new Promise<Answer>((resolve, reject) => {
    const secure = target.url.protocol === "https:";
    const req = (secure ? https : http).request({
      ...target.options,
      method: "POST",
      agent: secure ? agents["https:"] : agents["http:"],
      headers: { ...headers, "content-length": String(body.length) },
    });
    let answered = false;
    const timer = setTimeout(() => req.destroy(new AttemptTimeout()), Math.max(0, deadline - Date.now()));
    req.on("error", (err) => {
      clearTimeout(timer);
      // a kept-alive connection closed under the request may be tried again (isStaleConnection)
      if (!answered) reject(Object.assign(err, { reusedSocket: req.reusedSocket }));
    });
    req.on("response", (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          body: Buffer.concat(chunks, size),
          truncated,
        });
      };
      res.on("data", (chunk: Buffer) => {
        if (truncated) return;
        const room = max - size;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(room, chunk.length);
        if (size >= max) {
          // the bound reached: whatever is left is dropped unread, the connection with it
          truncated = true;
          res.destroy();
          done();
        }
      });
      res.on("end", done);
      // the deadline or the bound cut the answer short: its status is known all the same
      res.on("close", () => {
        if (!res.complete) truncated = true;
        done();
      });
      res.on("error", () => undefined);
    });
    req.end(body);
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
 *   more on a new one (the request never reached it), as browsers do.
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
    const headers = { ...req.headers, ...traceHeaders };
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

/** A reused connection closed under the request: ECONNRESET or EPIPE before any answer, on a kept-alive socket. */
function isStaleConnection(err: unknown): boolean {
  const e = err as { code?: unknown; reusedSocket?: unknown } | null;
  return e?.reusedSocket === true && (e.code === "ECONNRESET" || e.code === "EPIPE");
}

/** Node's error code (ECONNREFUSED, ENOTFOUND, …) or its message; never the URL. */
function causeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  return err instanceof Error ? err.message : String(err);
}
