import type { RouterOutputs } from "../../client";

/** A conversation's messages as the page holds them, typed by what the API answers. */
export type Conversation = RouterOutputs["conversations"]["get"]["conversation"];
type PageMessage = RouterOutputs["conversations"]["get"]["messages"][number];
/** A message of the page: from a page it knows its versions; from a stream event, not yet. */
export type Message = Omit<PageMessage, "versionIds"> & Partial<Pick<PageMessage, "versionIds">>;
/**
 * How much of a conversation a page opens with: the latest 40 messages, fewer when they are
 * long. Rendering markdown costs the server ~0.7 µs a character the first time a reply is
 * shown (up to ~4 on crafted text; later the HTML is kept) and the browser as much again to
 * hydrate it: 60,000 characters is ~0.05 s. Earlier messages load on request.
 */
export const FIRST_PAGE = { limit: 40, maxChars: 60_000 } as const;

export type StreamEvent = RouterOutputs["chat"]["resume"] extends AsyncIterable<infer E> ? E : never;

/**
 * Fresh loader data (after a reply ends, or another tab's change) is the truth; unchanged
 * messages keep their identity so their (memoised) rendering is reused.
 */
export function reconcile(current: Message[], fresh: Message[]): Message[] {
  const byId = new Map(current.map((message) => [message.id, message]));
  const same = (a: Message, b: Message) =>
    a.status === b.status &&
    a.content === b.content &&
    a.reasoning === b.reasoning &&
    a.error === b.error &&
    a.finishReason === b.finishReason &&
    a.versionIds?.join() === b.versionIds?.join();
  const freshIds = new Set(fresh.map((message) => message.id));
  const firstFresh = fresh[0];
  // Earlier pages the reader loaded stay; everything from the loader's window on is replaced.
  const cut = firstFresh ? current.findIndex((message) => message.id === firstFresh.id) : -1;
  const earlier = cut > 0 ? current.slice(0, cut).filter((message) => !freshIds.has(message.id)) : [];
  return [
    ...earlier,
    ...fresh.map((message) => (byId.get(message.id) && same(byId.get(message.id)!, message) ? byId.get(message.id)! : message)),
  ];
}

/** The list with `message` in place of the one with its id, or added at the end. */
export function upsert(messages: Message[], message: Message): Message[] {
  const index = messages.findIndex((existing) => existing.id === message.id);
  if (index === -1) return [...messages, message];
  const copy = messages.slice();
  copy[index] = message;
  return copy;
}
