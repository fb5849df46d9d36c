import { desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { newId } from "../db/ids";
import { messages, type ConversationRow, type MessageRow } from "../db/schema";
import type { Env } from "../env";
import { fitPrompt, PromptTooLongError, type ContextLimits, type ModelLimits } from "../llm/context-window";
import type { ModelCatalog } from "../llm/models";
import type { ChatTurn } from "../llm/provider";
import { DEFAULT_TITLE, requireConversation, titleFromMessage, toMessage, type Message } from "./conversations";
import { ServiceError } from "./errors";
import type { GenerationRegistry, GenerationUpdate, PromptSource, ReplyPhase, ReplyPosition } from "./generation";
import {
  hasMessages,
  insertMessage,
  messageByClientId,
  messageById,
  messageOfUser,
  newestMessagesOf,
  recordTurn,
  replyTo,
} from "./message-queries";
import type { RateLimits } from "./rate-limits";
import type { StorageQuota } from "./storage-quota";

export const MAX_MESSAGE_CHARS = 100_000;

export interface ChatDeps {
  db: Db;
  env: Pick<Env, "CHAT_HISTORY_CHARS">;
  generations: GenerationRegistry;
  models: ModelCatalog;
  modelLimits: ModelLimits;
  limits: RateLimits;
  quota: StorageQuota;
}

const idText = z.string().min(1).max(64);
const lastEventId = z.string().max(200).nullish();

export const sendMessageInput = z.object({
  conversationId: idText,
  content: z
    .string()
    .max(MAX_MESSAGE_CHARS, `Keep the message under ${MAX_MESSAGE_CHARS.toLocaleString("en")} characters.`)
    .refine((text) => text.trim() !== "", "Write a message first."),
  clientMessageId: z.string().min(1).max(100).optional(),
  model: z.string().trim().min(1).max(200).optional(),
});

export const streamInput = sendMessageInput.extend({ lastEventId });
export const resumeInput = z.object({ messageId: idText, lastEventId });
export const messageIdInput = z.object({ messageId: idText });
export const regenerateInput = z.object({ messageId: idText, model: z.string().trim().min(1).max(200).optional() });

/** The data of each tracked event of `chat.stream` and `chat.resume` (API.md). */
export type StreamEvent =
  | { type: "start"; userMessage: Message; assistantMessage: Message }
  | { type: "delta"; text: string }
  /** A reasoning model's thinking, streamed before (or between) its answer. */
  | { type: "reasoning"; text: string }
  /** Before the first token: waiting for a busy model server, or for one loading its model (null: no longer). */
  | { type: "status"; status: ReplyPhase | null }
  | { type: "done"; assistantMessage: Message }
  | { type: "error"; message: string; assistantMessage: Message };

export interface ReplyPair {
  userMessage: MessageRow;
  assistantMessage: MessageRow;
}

export function requireModel(models: ModelCatalog, model: string): string {
  if (models.models.some((option) => option.id === model)) return model;
  const choices = models.models.map((option) => option.id).join(", ");
  throw new ServiceError("BAD_REQUEST", `The model “${model}” is not available here. Choose one of: ${choices}.`, "model");
}

/**
 * Saves the user's message and an empty assistant reply, and starts generating it on the
 * server. The same `clientMessageId` twice answers the first pair and starts nothing.
 */
export async function startReply(deps: ChatDeps, userId: string, input: z.infer<typeof sendMessageInput>): Promise<ReplyPair> {
  const { db } = deps;
  requireConversation(db, userId, input.conversationId);
  const resent = () => (input.clientMessageId ? findByClientMessageId(db, input.conversationId, input.clientMessageId) : null);
  // A resend costs nothing: it starts nothing.
  const earlier = resent();
  if (earlier) return earlier;
  await deps.limits.consume("messagesPerUser", userId);

  // From here on no await: the checks and the insert happen as one step.
  const conversation = requireConversation(db, userId, input.conversationId);
  const raced = resent();
  if (raced) return raced;
  requireCapacity(deps, userId);
  deps.quota.requireRoomFor(userId, input.content.length);
  const model = requireModel(deps.models, input.model ?? conversation.model);
  if (deps.generations.isRunningIn(conversation.id)) {
    throw new ServiceError("CONFLICT", "A reply is still being written in this conversation. Wait for it, or stop it first.");
  }
  // Said before anything is stored, so the message stays in the composer to be shortened.
  fitOrRefuse(() =>
    fitPrompt({ system: conversation.systemPrompt, question: input.content, history: [] }, deps.modelLimits.limitsFor(model)),
  );

  const pair = db.transaction(() => insertPair(db, conversation, { ...input, model }));
  deps.quota.added(userId, input.content.length);
  deps.generations.start({
    userId,
    message: pair.assistantMessage,
    model,
    prompt: promptSource(deps, conversation, pair.userMessage, model),
  });
  return pair;
}

function fitOrRefuse<T>(fit: () => T): T {
  try {
    return fit();
  } catch (error) {
    if (error instanceof PromptTooLongError) throw new ServiceError("BAD_REQUEST", error.message, "content");
    throw error;
  }
}

function insertPair(db: Db, conversation: ConversationRow, input: z.infer<typeof sendMessageInput> & { model: string }): ReplyPair {
  const now = Date.now();
  const isFirstMessage = conversation.title === DEFAULT_TITLE && !hasMessages(db, conversation.id);
  const userMessage = insertMessage(db, {
    id: newId(),
    conversationId: conversation.id,
    role: "user",
    content: input.content,
    status: "complete",
    model: null,
    clientMessageId: input.clientMessageId ?? null,
    parentId: null,
    createdAt: new Date(now),
  });
  const assistantMessage = insertEmptyReply(db, userMessage, input.model);
  recordTurn(db, conversation.id, {
    updatedAt: new Date(now),
    model: input.model,
    ...(isFirstMessage ? { title: titleFromMessage(input.content) } : {}),
  });
  return { userMessage, assistantMessage };
}

/** The reply a generation will fill, right after its question in "oldest first" order. */
function insertEmptyReply(db: Db, question: MessageRow, model: string): MessageRow {
  return insertMessage(db, {
    id: newId(),
    conversationId: question.conversationId,
    role: "assistant",
    content: "",
    status: "streaming",
    model,
    clientMessageId: null,
    parentId: question.id,
    createdAt: new Date(Math.max(Date.now(), question.createdAt.getTime() + 1)),
  });
}

function findByClientMessageId(db: Db, conversationId: string, clientMessageId: string): ReplyPair | null {
  const userMessage = messageByClientId(db, conversationId, clientMessageId);
  const assistantMessage = userMessage && replyTo(db, userMessage.id);
  return userMessage && assistantMessage ? { userMessage, assistantMessage } : null;
}

/** A few replies at once per person: each holds an upstream connection and server memory. */
function requireCapacity(deps: ChatDeps, userId: string): void {
  const max = deps.limits.maxRunningReplies;
  if (!deps.limits.enabled || deps.generations.runningFor(userId) < max) return;
  throw new ServiceError(
    "TOO_MANY_REQUESTS",
    `You already have ${max} ${max === 1 ? "reply" : "replies"} being written. Wait for one to finish, or stop one.`,
    undefined,
    5,
  );
}

/**
 * What the model is sent: the system prompt, the question, and as many of the turns before it
 * as fit the model's context window (context-window.ts), built again for a smaller window when
 * the server says its window is smaller than configured.
 */
function promptSource(deps: ChatDeps, conversation: ConversationRow, question: MessageRow, model: string): PromptSource {
  const refit = (limits: ContextLimits) =>
    fitPrompt(
      { system: conversation.systemPrompt, question: question.content, history: turnsBefore(deps, conversation.id, question.id) },
      limits,
    );
  return { plan: refit(deps.modelLimits.limitsFor(model)), refit };
}

/**
 * The turns before a message, newest first, read a page at a time as far as the caller goes:
 * a long conversation costs no more than a short one. CHAT_HISTORY_CHARS, when set, caps them.
 */
function* turnsBefore(deps: ChatDeps, conversationId: string, questionId: string): Generator<ChatTurn> {
  let found = false;
  let chars = 0;
  for (const row of newestMessagesOf(deps.db, conversationId)) {
    // Newer than the question: the reply being written for it.
    if (!found) {
      found = row.id === questionId;
      continue;
    }
    if (!isUsableTurn(row)) continue;
    chars += row.content.length;
    if (deps.env.CHAT_HISTORY_CHARS !== undefined && chars > deps.env.CHAT_HISTORY_CHARS) return;
    yield { role: row.role === "assistant" ? "assistant" : "user", content: row.content };
  }
}

function isUsableTurn(row: { role: MessageRow["role"]; content: string; status: MessageRow["status"] }): boolean {
  if (row.role === "system" || row.content === "") return false;
  return row.role === "user" || row.status === "complete" || row.status === "stopped";
}

/** An assistant message, owned by `userId`, with the user message it answers. */
function requireReply(db: Db, userId: string, messageId: string): { reply: MessageRow; question: MessageRow | null } {
  const reply = messageOfUser(db, userId, messageId);
  if (!reply || reply.role !== "assistant") throw new ServiceError("NOT_FOUND", "That reply does not exist, or it is not yours.");
  const question = reply.parentId ? (messageById(db, reply.parentId) ?? null) : null;
  return { reply, question };
}

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

const INTERRUPTED = "The server restarted before this reply finished. Send the message again to get a new reply.";

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

/** Stops a running reply and answers it with the text so far; a finished one is answered as it is. */
export async function stopReply(deps: ChatDeps, userId: string, messageId: string): Promise<Message> {
  const { reply } = requireReply(deps.db, userId, messageId);
  const generation = deps.generations.get(reply.id);
  if (generation) return toMessage(await generation.stop());
  if (reply.status !== "streaming") return toMessage(reply);
  const [row] = deps.db.update(messages).set({ status: "stopped" }).where(eq(messages.id, reply.id)).returning().all();
  return toMessage(row!);
}

/**
 * A new reply to the last question, replacing the last reply (Regenerate, or Retry after an
 * error). Only the conversation's latest reply can be replaced, and not while it is running.
 */
export async function regenerateReply(deps: ChatDeps, userId: string, messageId: string, model?: string): Promise<Message> {
  requireReply(deps.db, userId, messageId);
  await deps.limits.consume("messagesPerUser", userId);
  const { reply, question } = requireReply(deps.db, userId, messageId);
  requireCapacity(deps, userId);
  const conversation = requireConversation(deps.db, userId, reply.conversationId);
  const latest = deps.db
    .select({ id: messages.id })
    .from(messages)
    .where(eq(messages.conversationId, conversation.id))
    .orderBy(desc(messages.createdAt), desc(sql`rowid`))
    .limit(1)
    .get();
  if (!question || latest?.id !== reply.id) {
    throw new ServiceError("BAD_REQUEST", "Only the latest reply of a conversation can be regenerated.");
  }
  if (deps.generations.get(reply.id)) throw new ServiceError("CONFLICT", "This reply is still being written. Stop it first.");
  const chosen = requireModel(deps.models, model ?? reply.model ?? conversation.model);
  const prompt = fitOrRefuse(() => promptSource(deps, conversation, question, chosen));
  // The prepared queries run on the one connection, inside this transaction too.
  const fresh = deps.db.transaction(() => {
    deps.db.delete(messages).where(eq(messages.id, reply.id)).run();
    const row = insertEmptyReply(deps.db, question, chosen);
    recordTurn(deps.db, conversation.id, { updatedAt: new Date(), model: chosen });
    return row;
  });
  deps.generations.start({ userId, message: fresh, model: chosen, prompt });
  return toMessage(fresh);
}

/**
 * The whole exchange at once, for clients that do not stream (`chat.send`). Waiting ends early
 * when `until` aborts (the client left, or its access ended); the reply goes on regardless.
 */
export async function sendAndWait(deps: ChatDeps, userId: string, input: z.infer<typeof sendMessageInput>, until: AbortSignal) {
  const pair = await startReply(deps, userId, input);
  const generation = deps.generations.get(pair.assistantMessage.id);
  const assistantMessage = generation ? ((await doneOrAborted(generation.done, until)) ?? pair.assistantMessage) : pair.assistantMessage;
  return { userMessage: toMessage(pair.userMessage), assistantMessage: toMessage(assistantMessage) };
}

function doneOrAborted<T>(done: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
    done.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** At start-up: replies left `streaming` by a crash can never finish; say so. */
export function markInterruptedReplies(db: Db): number {
  return db.update(messages).set({ status: "interrupted", error: INTERRUPTED }).where(eq(messages.status, "streaming")).run().changes;
}
