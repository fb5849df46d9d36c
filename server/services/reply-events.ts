import type { MessageRow } from "../db/schema";
import { toMessage, type Message } from "./conversations";
import type { GenerationUpdate, ReplyPhase, ReplyPosition } from "./generation";
import { INTERRUPTED, requireReply, startReply, type ChatDeps, type ReplyPair, type sendMessageInput } from "./replies";
import type { z } from "zod";

/**
 * A reply as a stream of events (`chat.stream`, `chat.resume`): from its start, or from just
 * after the last event a client saw, whether the reply runs here or is already saved.
 */

/** The data of each tracked event of `chat.stream` and `chat.resume` (docs/api.md). */
export type StreamEvent =
  | { type: "start"; userMessage: Message; assistantMessage: Message }
  | { type: "delta"; text: string }
  /** A reasoning model's thinking, streamed before (or between) its answer. */
  | { type: "reasoning"; text: string }
  /** Before the first token: waiting for a busy model server, or for one loading its model (null: no longer). */
  | { type: "status"; status: ReplyPhase | null }
  | { type: "done"; assistantMessage: Message }
  | { type: "error"; message: string; assistantMessage: Message };

export interface TrackedStreamEvent {
  id: string;
  data: StreamEvent;
}

/**
 * The events of one reply, from its start or from just after `lastEventId`. Event ids are
 * `<messageId>:<characters seen>`, or `<messageId>:<characters seen>.<characters of thinking
 * seen>` once a reasoning model has thought, so a reconnect resumes at the exact character
 * of both, whether the reply is still running here or already saved.
 */
export function replyEvents(
  deps: ChatDeps,
  userId: string,
  input: { messageId: string; lastEventId?: string | null },
  signal: AbortSignal,
): AsyncGenerator<TrackedStreamEvent> {
  const exchange = requireReply(deps.db, userId, input.messageId);
  return exchangeEvents(deps, exchange, parseEventId(input.lastEventId, exchange.reply.id), signal);
}

/**
 * `chat.stream`: starts a reply and follows it; a reconnect (the client sends the last event
 * id it saw) follows the same reply from there instead of sending the message again.
 */
export async function* streamReply(
  deps: ChatDeps,
  userId: string,
  input: z.infer<typeof sendMessageInput> & { lastEventId?: string | null },
  signal: AbortSignal,
): AsyncGenerator<TrackedStreamEvent> {
  const resumed = messageIdOfEventId(input.lastEventId);
  if (resumed) yield* replyEvents(deps, userId, { messageId: resumed, lastEventId: input.lastEventId }, signal);
  else yield* startedReplyEvents(deps, await startReply(deps, userId, input), signal);
}

/** The events of a reply just started (or found again by its `clientMessageId`). */
export function startedReplyEvents(deps: ChatDeps, pair: ReplyPair, signal: AbortSignal): AsyncGenerator<TrackedStreamEvent> {
  return exchangeEvents(deps, { reply: pair.assistantMessage, question: pair.userMessage }, null, signal);
}

export function eventId(messageId: string, { offset, reasoningOffset }: ReplyPosition, end = false): string {
  return `${messageId}:${offset}${reasoningOffset > 0 ? `.${reasoningOffset}` : ""}${end ? ":end" : ""}`;
}

async function* exchangeEvents(
  deps: ChatDeps,
  { reply, question }: { reply: MessageRow; question: MessageRow | null },
  resumeFrom: ReplyPosition | null,
  signal: AbortSignal,
): AsyncGenerator<TrackedStreamEvent> {
  const generation = deps.generations.get(reply.id);

  if (resumeFrom === null) {
    const assistantMessage = toMessage({ ...reply, content: "", reasoning: "", status: "streaming", error: null });
    const userMessage = question ? toMessage(question) : assistantMessage;
    yield { id: eventId(reply.id, { offset: 0, reasoningOffset: 0 }), data: { type: "start", userMessage, assistantMessage } };
  }
  // Each event's id counts only what it and the events before it carried.
  let seen = resumeFrom ?? { offset: 0, reasoningOffset: 0 };
  const updates = generation ? generation.follow(seen, signal) : storedUpdates(reply, seen);
  for await (const update of updates) {
    if (update.phase !== undefined) yield { id: eventId(reply.id, seen), data: { type: "status", status: update.phase } };
    if (update.reasoning) {
      seen = { ...seen, reasoningOffset: update.reasoningOffset };
      yield { id: eventId(reply.id, seen), data: { type: "reasoning", text: update.reasoning } };
    }
    if (update.delta) {
      seen = { ...seen, offset: update.offset };
      yield { id: eventId(reply.id, seen), data: { type: "delta", text: update.delta } };
    }
    if (update.final) yield { id: eventId(reply.id, seen, true), data: endEvent(update.final) };
  }
}

function* storedUpdates(reply: MessageRow, from: ReplyPosition): Generator<GenerationUpdate> {
  const reasoning = reply.reasoning.slice(from.reasoningOffset);
  const delta = reply.content.slice(from.offset);
  const position = { offset: reply.content.length, reasoningOffset: reply.reasoning.length };
  if (reasoning || delta) yield { ...position, ...(reasoning ? { reasoning } : {}), ...(delta ? { delta } : {}) };
  // A reply still marked `streaming` that no generation here owns was cut off by a restart.
  const final = reply.status === "streaming" ? { ...reply, status: "interrupted" as const, error: INTERRUPTED } : reply;
  yield { ...position, final };
}

function endEvent(final: MessageRow): StreamEvent {
  const assistantMessage = toMessage(final);
  if (final.status === "complete" || final.status === "stopped") return { type: "done", assistantMessage };
  return { type: "error", message: final.error ?? INTERRUPTED, assistantMessage };
}

const EVENT_ID = /^([0-9a-z]+):(\d+)(?:\.(\d+))?(:end)?$/;

/** `null` for no (or a foreign) event id: the client then gets the reply from its start. */
export function parseEventId(lastEventId: string | null | undefined, messageId?: string): ReplyPosition | null {
  const match = lastEventId?.match(EVENT_ID);
  if (!match || (messageId && match[1] !== messageId)) return null;
  return { offset: Number(match[2]), reasoningOffset: Number(match[3] ?? 0) };
}

export function messageIdOfEventId(lastEventId: string | null | undefined): string | null {
  return lastEventId?.match(EVENT_ID)?.[1] ?? null;
}
