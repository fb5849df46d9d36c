import { z } from "zod";
import type { Db } from "../db/client";
import { MESSAGE_REFUSALS } from "../../client/limits";
import { LIMITS, modelId, recordId } from "./inputs";
import { newId } from "../db/ids";
import type { ConversationRow, MessageRow } from "../db/schema";
import type { Env } from "../env";
import type { ModelLimits } from "../llm/context-window";
import type { ModelCatalog } from "../llm/models";
import { isOffered, requireConversation, requireModel, titleFromMessage, toMessage, type Message } from "./conversations";
import { ServiceError } from "./errors";
import type { GenerationRegistry } from "./generation-registry";
import {
  hasMessages,
  insertMessage,
  markInterrupted,
  markStopped,
  messageByClientId,
  messageById,
  messageOfUser,
  recordTurn,
  repliesTo,
} from "./message-queries";
import { promptFor } from "./prompt";
import type { RateLimits } from "./rate-limits";
import type { StorageQuota } from "./storage-quota";

/**
 * Replies: sending a message starts one, and stop, regenerate and the start-up sweep end or
 * replace them. How a reply is followed as events is reply-events.ts; what the model is sent
 * is prompt.ts; the running reply itself is generation.ts.
 */

export const MAX_MESSAGE_CHARS = LIMITS.messageChars;
export const MAX_COMPARED = LIMITS.comparedModels;

export interface ChatDeps {
  db: Db;
  env: Pick<Env, "CHAT_HISTORY_CHARS">;
  generations: GenerationRegistry;
  models: ModelCatalog;
  modelLimits: ModelLimits;
  limits: RateLimits;
  quota: StorageQuota;
}

const lastEventId = z.string().max(200).nullish();

export const sendMessageInput = z.object({
  conversationId: recordId,
  content: z
    .string()
    .max(MAX_MESSAGE_CHARS, MESSAGE_REFUSALS.tooLong)
    .refine((text) => text.trim() !== "", MESSAGE_REFUSALS.empty),
  clientMessageId: z.string().min(1).max(100).optional(),
  model: modelId.optional(),
  /**
   * The reply the message answers (a branch of its own from there), or null for a new first
   * message; omitted, it continues the branch the conversation shows.
   */
  parentId: recordId.nullable().optional(),
});

/** Edit and resend: a new version of a message of yours, answered; the old one and its branch stay. */
export const editMessageInput = sendMessageInput.omit({ conversationId: true, parentId: true }).extend({ messageId: recordId });

export const streamInput = sendMessageInput.extend({ lastEventId });
export const resumeInput = z.object({ messageId: recordId, lastEventId });
export const messageIdInput = z.object({ messageId: recordId });
export const regenerateInput = z.object({ messageId: recordId, model: modelId.optional() });

export const compareInput = sendMessageInput.omit({ model: true }).extend({
  /** Two or three models, each writing a reply of its own to the one message. */
  models: z
    .array(modelId)
    .min(2, "Pick at least two models to compare.")
    .max(MAX_COMPARED, `Compare at most ${MAX_COMPARED} models at once.`)
    .refine((models) => new Set(models).size === models.length, "Pick different models to compare."),
});

export interface ReplyPair {
  userMessage: MessageRow;
  assistantMessage: MessageRow;
}

/** A message with every reply started for it: one, or one per compared model. */
interface ReplySet {
  userMessage: MessageRow;
  replies: MessageRow[];
}

/**
 * Saves the user's message and an empty assistant reply, and starts generating it on the
 * server. The same `clientMessageId` twice answers the first pair and starts nothing.
 */
export async function startReply(deps: ChatDeps, userId: string, input: z.infer<typeof sendMessageInput>): Promise<ReplyPair> {
  const { userMessage, replies } = await startReplies(deps, userId, input, [input.model]);
  return { userMessage, assistantMessage: replies[0]! };
}

/**
 * The message and one reply per model (undefined: the conversation's), each generated on the
 * server and each counted against the person's limits like any reply.
 */
async function startReplies(
  deps: ChatDeps,
  userId: string,
  input: z.infer<typeof sendMessageInput>,
  requested: (string | undefined)[],
): Promise<ReplySet> {
  const { db } = deps;
  requireConversation(db, userId, input.conversationId);
  const resent = () => (input.clientMessageId ? findByClientMessageId(db, input.conversationId, input.clientMessageId) : null);
  // A resend costs nothing: it starts nothing.
  const earlier = resent();
  if (earlier) return earlier;
  // Before the rate limit: a wrong model, or more replies than may ever run at once, costs no message.
  for (const model of requested) if (model !== undefined) requireModel(deps.models, model);
  requireRunnable(deps, requested.length);
  await deps.limits.consume("messagesPerUser", userId, requested.length);

  // From here on no await: the checks and the insert happen as one step.
  const conversation = requireConversation(db, userId, input.conversationId);
  const raced = resent();
  if (raced) return raced;
  requireCapacity(deps, userId, requested.length);
  deps.quota.requireRoomFor(userId, input.content.length);
  const models = requested.map((model) => requireModel(deps.models, model ?? conversation.model));
  const parentId = input.parentId === undefined ? conversation.currentLeafId : requireReplyToFollow(db, conversation.id, input.parentId);
  // One running reply per branch: a message cannot follow a reply still being written, but
  // another branch (an edit of an earlier message, say) can start meanwhile.
  if (parentId !== null && deps.generations.get(parentId)?.ended === false) {
    throw new ServiceError("CONFLICT", "A reply is still being written in this conversation. Wait for it, or stop it first.");
  }
  const prompts = models.map((model) => promptFor(deps, conversation, parentId, input.content, model));

  // A comparison leaves the conversation's model as it was: the person chose none of them yet.
  const conversationModel = models.length === 1 ? models[0]! : conversation.model;
  const set = db.transaction(() => insertMessageAndReplies(db, conversation, { ...input, parentId }, models, conversationModel));
  deps.quota.added(userId, input.content.length);
  const temperature = conversation.temperature ?? undefined;
  set.replies.forEach((reply, index) =>
    deps.generations.start({ userId, message: reply, model: models[index]!, prompt: prompts[index]!, temperature }),
  );
  return set;
}

/** A message may follow a reply of its conversation, or nothing (a new first message). */
function requireReplyToFollow(db: Db, conversationId: string, parentId: string | null): string | null {
  if (parentId === null) return null;
  const parent = messageById(db, parentId);
  // Missing, or another conversation's (maybe another person's): one answer, which tells nothing.
  if (!parent || parent.conversationId !== conversationId) {
    throw new ServiceError(
      "BAD_REQUEST",
      "The reply this message follows is not in this conversation (deleted, perhaps in another tab). Reload the conversation.",
      "parentId",
    );
  }
  if (parent.role !== "assistant") {
    throw new ServiceError("BAD_REQUEST", "A message can follow only a reply of the same conversation.", "parentId");
  }
  return parent.id;
}

function insertMessageAndReplies(
  db: Db,
  conversation: ConversationRow,
  input: z.infer<typeof sendMessageInput> & { parentId: string | null },
  models: string[],
  conversationModel: string,
): ReplySet {
  const now = Date.now();
  const isFirstMessage = conversation.titleSource === "default" && !hasMessages(db, conversation.id);
  const userMessage = insertMessage(db, {
    id: newId(),
    conversationId: conversation.id,
    role: "user",
    content: input.content,
    status: "complete",
    model: null,
    clientMessageId: input.clientMessageId ?? null,
    parentId: input.parentId,
    createdAt: new Date(now),
  });
  // In the order the models were given: that is the order of the versions.
  const replies = models.map((model, index) => insertEmptyReply(db, userMessage, model, index));
  recordTurn(db, conversation.id, {
    updatedAt: new Date(now),
    model: conversationModel,
    leafId: replies[0]!.id,
    ...(isFirstMessage ? { title: titleFromMessage(input.content) } : {}),
  });
  return { userMessage, replies };
}

/** The reply a generation will fill, right after its question in "oldest first" order. */
function insertEmptyReply(db: Db, question: MessageRow, model: string, order = 0): MessageRow {
  return insertMessage(db, {
    id: newId(),
    conversationId: question.conversationId,
    role: "assistant",
    content: "",
    status: "streaming",
    model,
    clientMessageId: null,
    parentId: question.id,
    createdAt: new Date(Math.max(Date.now(), question.createdAt.getTime() + 1) + order),
  });
}

function findByClientMessageId(db: Db, conversationId: string, clientMessageId: string): ReplySet | null {
  const userMessage = messageByClientId(db, conversationId, clientMessageId);
  const replies = userMessage ? repliesTo(db, userMessage.id) : [];
  return userMessage && replies.length > 0 ? { userMessage, replies } : null;
}

/** A few replies at once per person: each holds an upstream connection and server memory. */
function requireCapacity(deps: ChatDeps, userId: string, starting = 1): void {
  const max = deps.limits.maxRunningReplies;
  if (!deps.limits.enabled || deps.generations.runningFor(userId) + starting <= max) return;
  throw new ServiceError(
    "TOO_MANY_REQUESTS",
    `You already have ${max} ${max === 1 ? "reply" : "replies"} being written. Wait for one to finish, or stop one.`,
    undefined,
    5,
  );
}

/** More replies at once than one person may ever have running: no wait helps. */
function requireRunnable(deps: ChatDeps, starting: number): void {
  const max = deps.limits.maxRunningReplies;
  if (deps.limits.enabled && starting > max) {
    throw new ServiceError(
      "BAD_REQUEST",
      `At most ${max} ${max === 1 ? "reply" : "replies"} may be written at once here; compare fewer models.`,
      "models",
    );
  }
}

/** An assistant message, owned by `userId`, with the user message it answers. */
export function requireReply(db: Db, userId: string, messageId: string): { reply: MessageRow; question: MessageRow | null } {
  const reply = messageOfUser(db, userId, messageId);
  if (!reply || reply.role !== "assistant") throw new ServiceError("NOT_FOUND", "That reply does not exist, or it is not yours.");
  const question = reply.parentId ? (messageById(db, reply.parentId) ?? null) : null;
  return { reply, question };
}

/** Stops a running reply and answers it with the text so far; a finished one is answered as it is. */
export async function stopReply(deps: ChatDeps, userId: string, { messageId }: z.infer<typeof messageIdInput>): Promise<Message> {
  const { reply } = requireReply(deps.db, userId, messageId);
  const generation = deps.generations.get(reply.id);
  if (generation) return toMessage(await generation.stop());
  if (reply.status !== "streaming") return toMessage(reply);
  return toMessage(markStopped(deps.db, reply.id) ?? reply);
}

/**
 * A new reply to a reply's question (Regenerate, or Retry after an error), shown in its place;
 * the old one stays, a version beside it, with the branch that follows it. Not while it runs.
 */
export async function regenerateReply(
  deps: ChatDeps,
  userId: string,
  { messageId, model }: z.infer<typeof regenerateInput>,
): Promise<Message> {
  // Checked before the rate limit, so a wrong id costs no message; and again after its await,
  // since the reply may have been deleted or replaced meanwhile.
  requireReply(deps.db, userId, messageId);
  await deps.limits.consume("messagesPerUser", userId);
  const { reply, question } = requireReply(deps.db, userId, messageId);
  requireCapacity(deps, userId);
  const conversation = requireConversation(deps.db, userId, reply.conversationId);
  if (!question) throw new ServiceError("BAD_REQUEST", "This reply answers no message, so it cannot be regenerated.");
  if (deps.generations.get(reply.id)?.ended === false)
    throw new ServiceError("CONFLICT", "This reply is still being written. Stop it first.");
  // The old reply's model, unless it is no longer offered: then the conversation's.
  const chosen = requireModel(
    deps.models,
    model ?? (reply.model !== null && isOffered(deps.models, reply.model) ? reply.model : conversation.model),
  );
  const prompt = promptFor(deps, conversation, question.parentId, question.content, chosen);
  // The old reply stays, a sibling version of the new one. The prepared queries run on the
  // one connection, inside this transaction too.
  const fresh = deps.db.transaction(() => {
    const row = insertEmptyReply(deps.db, question, chosen);
    recordTurn(deps.db, conversation.id, { updatedAt: new Date(), model: chosen, leafId: row.id });
    return row;
  });
  deps.generations.start({ userId, message: fresh, model: chosen, prompt, temperature: conversation.temperature ?? undefined });
  return toMessage(fresh);
}

/** `chat.edit`: a new version of one of your messages, beside it, answered like a new message. */
export async function editMessage(deps: ChatDeps, userId: string, input: z.infer<typeof editMessageInput>) {
  const edited = messageOfUser(deps.db, userId, input.messageId);
  if (!edited || edited.role !== "user") throw new ServiceError("NOT_FOUND", "That message does not exist, or it is not yours.");
  const { messageId: _, ...message } = input;
  return startReplyMessages(deps, userId, { ...message, conversationId: edited.conversationId, parentId: edited.parentId });
}

/** `chat.start`: the reply started, answered at once; its text follows by `chat.resume`. */
export async function startReplyMessages(deps: ChatDeps, userId: string, input: z.infer<typeof sendMessageInput>) {
  const pair = await startReply(deps, userId, input);
  return { userMessage: toMessage(pair.userMessage), assistantMessage: toMessage(pair.assistantMessage) };
}

/**
 * `chat.compare`: one message, a reply from each model, streaming side by side (follow each
 * with `chat.resume`). The first model's reply is shown; every reply is a version of it, and
 * `conversations.showBranch` keeps the one the person prefers.
 */
export async function startComparison(deps: ChatDeps, userId: string, { models, ...input }: z.infer<typeof compareInput>) {
  const { userMessage, replies } = await startReplies(deps, userId, input, models);
  return { userMessage: toMessage(userMessage), assistantMessages: replies.map(toMessage) };
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

export const INTERRUPTED = "The server restarted before this reply finished. Send the message again to get a new reply.";

/** At start-up: replies left `streaming` by a crash can never finish; say so. */
export function markInterruptedReplies(db: Db): number {
  return markInterrupted(db, INTERRUPTED);
}
