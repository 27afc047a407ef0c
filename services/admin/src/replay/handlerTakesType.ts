import { HANDLERS, type HandlerName, isKnownEventType, KNOWN_EVENT_TYPES } from "@hookstream/contracts";

/**
 * Whether a handler takes an event type: a known OpenAI type of its domain. A type
 * outside that list (a misspelling, another domain, a type OpenAI may add later) is
 * not the handler's to process, so a replay of it to that handler is refused.
 */
export function handlerTakesType(handler: HandlerName, eventType: string): boolean {
  return isKnownEventType(eventType) && eventType.startsWith(`${HANDLERS[handler].domain}.`);
}

/** Every type a handler takes, for messages and for the bulk replay's default filter. */
export function typesTakenBy(handler: HandlerName): string[] {
  return KNOWN_EVENT_TYPES.filter((t) => handlerTakesType(handler, t));
}
