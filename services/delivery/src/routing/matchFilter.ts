import type { DestinationFilter } from "@hookstream/contracts";

/** What routing and ordering need to know of one message, read from its subject and headers. */
export interface EventFacts {
  eventId: string;
  eventType: string;
  /** the provider of a raw event; `openai` for a notification (only OpenAI events have handlers) */
  provider: string;
  /** the handler of a notification; null for a raw event */
  handler: string | null;
}

const globCache = new Map<string, RegExp>();

/** `batch.*` → /^batch\..*$/: `*` is any run of characters, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.split("*").map(escapeRegExp).join(".*")}$`);
    globCache.set(glob, re);
  }
  return re;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** RFC 6901: the value at `pointer` in `doc`, or undefined when there is none. */
export function readPointer(doc: unknown, pointer: string): unknown {
  if (pointer === "") return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const token = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else if (cur !== null && typeof cur === "object" && Object.hasOwn(cur, token)) {
      cur = (cur as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return cur;
}

/**
 * Whether a destination's filter takes an event: every kind given must hold (types:
 * any glob matches; providers, handlers: listed; match: every pointer equals its
 * value). `body` is read only when the filter has `match` (the caller parses lazily).
 */
export function matchesFilter(filter: DestinationFilter, facts: EventFacts, body: () => unknown): boolean {
  if (filter.types && !filter.types.some((g) => globToRegExp(g).test(facts.eventType))) return false;
  if (filter.providers && !filter.providers.includes(facts.provider)) return false;
  if (filter.handlers && (facts.handler === null || !filter.handlers.includes(facts.handler))) return false;
  if (filter.match) {
    const doc = body();
    for (const [pointer, want] of Object.entries(filter.match)) {
      if (readPointer(doc, pointer) !== want) return false;
    }
  }
  return true;
}
