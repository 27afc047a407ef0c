import { EventSummary } from "@hookstream/contracts";
import { z } from "zod";
import { token, withQuery } from "./api";

const Batch = z.array(EventSummary);

export type LiveState = "connecting" | "live" | "retrying";

/**
 * Follows `/admin/events/live` (server-sent events). Read with fetch rather than
 * EventSource: EventSource cannot send the Authorization header, and the token
 * must not go in a URL. Reconnects after a pause; `onReconnect` lets the page
 * reload its first page to fill what it missed meanwhile.
 */
export function followLive(
  query: Record<string, string | undefined>,
  handlers: {
    onEvents: (rows: EventSummary[]) => void;
    onState: (s: LiveState) => void;
    onReconnect?: () => void;
  },
): () => void {
  const abort = new AbortController();
  let first = true;

  async function once(): Promise<void> {
    handlers.onState(first ? "connecting" : "retrying");
    const res = await fetch(withQuery("/admin/events/live", query), {
      headers: { accept: "text/event-stream", authorization: `Bearer ${token.get() ?? ""}` },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`live: ${res.status}`);
    if (!first) handlers.onReconnect?.();
    first = false;
    handlers.onState("live");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        const data = frame
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (!data) continue;
        const rows = Batch.safeParse(JSON.parse(data));
        if (rows.success) handlers.onEvents(rows.data);
      }
    }
  }

  void (async () => {
    while (!abort.signal.aborted) {
      try {
        await once();
      } catch {
        // dropped or refused: try again shortly
      }
      if (abort.signal.aborted) return;
      handlers.onState("retrying");
      await new Promise((r) => setTimeout(r, 2_000));
    }
  })();
  return () => abort.abort();
}
