import { expect } from "vitest";
import type { StreamEvent } from "../../server/services/reply-events";

export interface CollectedEvent {
  id: string;
  data: StreamEvent;
}

/**
 * Reads a subscription obtained through createCaller (which yields tracked tuples) until it
 * ends, or until `stopWhen` says the reader has seen enough, as a client that disconnects.
 */
export async function collect(
  subscription: AsyncIterable<unknown>,
  stopWhen: (events: CollectedEvent[]) => boolean = () => false,
): Promise<CollectedEvent[]> {
  const events: CollectedEvent[] = [];
  for await (const item of subscription) {
    const [id, data] = item as [string, StreamEvent];
    events.push({ id, data });
    if (stopWhen(events)) break;
  }
  return events;
}

export function textOf(events: CollectedEvent[]): string {
  return events.map((event) => (event.data.type === "delta" ? event.data.text : "")).join("");
}

export function lastEvent(events: CollectedEvent[]): StreamEvent {
  const last = events.at(-1);
  expect(last).toBeDefined();
  return last!.data;
}

/** Waits for a condition that becomes true on its own (a reply finishing on the server). */
export async function eventually<T>(check: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
