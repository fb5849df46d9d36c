import { and, desc, eq, exists, or, sql, type SQLWrapper } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { LIMITS, modelId, recordId } from "./inputs";
import { newId } from "../db/ids";
import { preparedOnce } from "../db/prepared";
import { catchUpSearchIndex } from "../db/search-index";
import { conversations, messages, type ConversationRow, type MessageRow } from "../db/schema";
import { ServiceError } from "./errors";
import {
  childIdsOf,
  deleteSubtree,
  messageById,
  messageOfUser,
  newestLeafUnder,
  pathEndingAt,
  showBranchEndingAt,
} from "./message-queries";
import { decodeCursor, encodeCursor, olderThanCursor } from "./cursor";
import type { ModelCatalog } from "../llm/models";
import type { Env } from "../env";
import type { GenerationRegistry } from "./generation-registry";
import type { RateLimits } from "./rate-limits";
import type { StorageQuota } from "./storage-quota";

export const MAX_TITLE_CHARS = LIMITS.titleChars;
export const MAX_SYSTEM_PROMPT_CHARS = LIMITS.systemPromptChars;
export const DEFAULT_TITLE = "New chat";
/** Titles made for the person (from the first message, or by a model) are at most this long. */
export const MAX_AUTO_TITLE_CHARS = 60;

export const conversationIdInput = z.object({ id: recordId });

export const getConversationInput = z.object({
  id: recordId,
  /** Only the latest `limit` messages (before `before`, if given): long conversations open fast. */
  limit: z.number().int().min(1).max(10_000).optional(),
  before: recordId.optional(),
  /** Fewer messages when the latest are long: at most this many characters of text (never more than MAX_PAGE_CHARS, never none). */
  maxChars: z.number().int().min(1).optional(),
  /** The branch through this message (down its newest continuation) instead of the one shown; nothing is changed. */
  through: recordId.optional(),
});

/** Shows the branch through a message (its newest continuation), and answers its page as `get` does. */
export const showBranchInput = getConversationInput.omit({ before: true, through: true }).extend({ messageId: recordId });

/** Deletes a message with what follows it, and answers the page of the branch then shown. */
export const deleteMessageInput = getConversationInput.omit({ id: true, before: true, through: true }).extend({ messageId: recordId });

export const listConversationsInput = z
  .object({
    limit: z.number().int().min(1).max(100).default(50),
    cursor: z.string().max(200).nullish(),
    // NUL ends a string for SQLite's search syntax: the rest of the phrase would be a syntax error.
    search: z
      .string()
      .max(200)
      .transform((text) => text.replaceAll("\0", "").trim())
      .optional(),
  })
  .default({ limit: 50 });

/**
 * Invisible characters that change how the text around them shows: bidirectional marks,
 * overrides and isolates, zero-width spaces and joiners, soft hyphens, tag characters. In a
 * title they can make one conversation look like another in the sidebar.
 */
export const INVISIBLE_FORMATTING = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu;

const titleText = z
  .string()
  .transform((title) => title.replace(INVISIBLE_FORMATTING, "").trim())
  .pipe(z.string().min(1, "Give the conversation a title.").max(MAX_TITLE_CHARS, `Keep the title under ${MAX_TITLE_CHARS} characters.`));

/** Reply parameters a conversation may set; null: the default (the model server's, MAX_REPLY_TOKENS). */
const replyParameters = {
  temperature: z.number().min(0, "Temperature goes from 0 to 2.").max(2, "Temperature goes from 0 to 2.").nullish(),
  maxReplyTokens: z.number().int("Give the longest reply as a whole number of tokens.").min(1, "A reply needs at least 1 token.").nullish(),
};

export const createConversationInput = z
  .object({
    title: titleText.optional(),
    model: modelId.optional(),
    systemPrompt: z.string().max(MAX_SYSTEM_PROMPT_CHARS, `Keep the system prompt under ${MAX_SYSTEM_PROMPT_CHARS} characters.`).nullish(),
    ...replyParameters,
  })
  .default({});

export const renameConversationInput = z.object({ id: recordId, title: titleText });

export const updateConversationInput = z.object({
  id: recordId,
  title: titleText.optional(),
  model: modelId.optional(),
  systemPrompt: z.string().max(MAX_SYSTEM_PROMPT_CHARS, `Keep the system prompt under ${MAX_SYSTEM_PROMPT_CHARS} characters.`).nullish(),
  ...replyParameters,
});

/** docs/api.md `Conversation`. */
export interface Conversation {
  id: string;
  title: string;
  model: string;
  systemPrompt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The last message of the branch shown (messages form a tree); null before the first. */
  currentLeafId: string | null;
  /** Sent with every reply when set; null: the model server's default. */
  temperature: number | null;
  /** The longest reply asked for, in tokens, when set; null: MAX_REPLY_TOKENS. */
  maxReplyTokens: number | null;
}

/** docs/api.md `Message`, plus token usage when the model server reported it. */
export interface Message {
  id: string;
  conversationId: string;
  /** The message it follows: a reply its question, a question the reply before it. */
  parentId: string | null;
  role: MessageRow["role"];
  content: string;
  /** A reasoning model's thinking ("" for none): shown folded, never sent back to the model. */
  reasoning: string;
  /** How long the model thought before answering, in milliseconds. */
  reasoningMs: number | null;
  status: MessageRow["status"];
  /** `length`: the reply stopped at the longest reply allowed (it can be continued). */
  finishReason: MessageRow["finishReason"];
  model: string | null;
  error: string | null;
  createdAt: string;
  /** Tokens used; `estimated` when the model server did not report them (stopped, timed out, failed). */
  usage: { promptTokens: number; completionTokens: number; estimated: boolean } | null;
}

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    model: row.model,
    systemPrompt: row.systemPrompt,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    currentLeafId: row.currentLeafId,
    temperature: row.temperature,
    maxReplyTokens: row.maxReplyTokens,
  };
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversationId,
    parentId: row.parentId,
    role: row.role,
    content: row.content,
    reasoning: row.reasoning,
    reasoningMs: row.reasoningMs,
    status: row.status,
    finishReason: row.finishReason,
    model: row.model,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    usage:
      row.promptTokens !== null && row.completionTokens !== null
        ? { promptTokens: row.promptTokens, completionTokens: row.completionTokens, estimated: row.usageEstimated }
        : null,
  };
}

const notFound = () => new ServiceError("NOT_FOUND", "That conversation does not exist, or it is not yours.");

/** Ownership lives in the query: another user's id reads exactly like a missing one. */
export function requireConversation(db: Db, userId: string, id: string): ConversationRow {
  const query = preparedOnce(db, "conversationOfUser", () =>
    db
      .select()
      .from(conversations)
      .where(and(eq(conversations.id, sql.placeholder("id")), eq(conversations.userId, sql.placeholder("userId"))))
      .prepare(),
  );
  const row = query.get({ id, userId });
  if (!row) throw notFound();
  return row;
}

/** What creating and changing conversations needs beside the database: the person's limits. */
export interface ConversationDeps {
  db: Db;
  env: Pick<Env, "MAX_REPLY_TOKENS">;
  limits: RateLimits;
  quota: StorageQuota;
  generations: GenerationRegistry;
  models: ModelCatalog;
}

/** A model people may choose here, or BAD_REQUEST naming the ones they may. */
export function isOffered(models: ModelCatalog, model: string): boolean {
  return models.models.some((option) => option.id === model);
}

export function requireModel(models: ModelCatalog, model: string): string {
  if (isOffered(models, model)) return model;
  const choices = models.models.map((option) => option.id).join(", ");
  throw new ServiceError("BAD_REQUEST", `The model “${model}” is not available here. Choose one of: ${choices}.`, "model");
}

/** A longest reply the server allows (MAX_REPLY_TOKENS), or BAD_REQUEST saying the most. */
function requireReplyLength(env: Pick<Env, "MAX_REPLY_TOKENS">, tokens: number | null | undefined): void {
  if (tokens !== null && tokens !== undefined && tokens > env.MAX_REPLY_TOKENS) {
    throw new ServiceError("BAD_REQUEST", `A reply may be at most ${env.MAX_REPLY_TOKENS} tokens here.`, "maxReplyTokens");
  }
}

export async function createConversation(
  { db, env, limits, quota, models }: ConversationDeps,
  userId: string,
  input: z.infer<typeof createConversationInput>,
): Promise<Conversation> {
  // Before the rate limit: a wrong model or length costs no conversation.
  const model = requireModel(models, input.model ?? models.defaultModel);
  requireReplyLength(env, input.maxReplyTokens);
  await limits.consume("conversationsPerUser", userId);
  // From here on no await: the checks and the insert happen as one step.
  quota.requireConversationSlot(userId);
  const title = input.title ?? DEFAULT_TITLE;
  const systemPrompt = input.systemPrompt?.trim() || null;
  const chars = title.length + (systemPrompt?.length ?? 0);
  quota.requireRoomFor(userId, chars);
  const now = new Date();
  const [row] = db
    .insert(conversations)
    .values({
      id: newId(),
      userId,
      title,
      titleSource: input.title === undefined ? "default" : "person",
      model,
      systemPrompt,
      temperature: input.temperature ?? null,
      maxReplyTokens: input.maxReplyTokens ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
    .all();
  quota.added(userId, chars);
  return toConversation(row!);
}

/**
 * The most text one answer of `conversations.get` carries. Without a bound one answer was
 * every message of a conversation: 135 MB for 150 long messages (JSON escapes some characters
 * to 6 bytes), and a few sockets that never read them took the server to 1.4 GB.
 */
export const MAX_PAGE_CHARS = 500_000;
const MAX_PAGE_MESSAGES = 10_000;
export function getConversation(
  { db }: Pick<ConversationDeps, "db">,
  userId: string,
  input: z.infer<typeof getConversationInput>,
): ConversationPage {
  const conversation = requireConversation(db, userId, input.id);
  const limit = input.limit ?? MAX_PAGE_MESSAGES;
  const maxChars = Math.min(input.maxChars ?? MAX_PAGE_CHARS, MAX_PAGE_CHARS);
  // The branch shown, from its end (or from before `before`) back, stopping at the limits.
  const start = input.before ? messageById(db, input.before) : null;
  if (start === undefined || (start && start.conversationId !== input.id)) {
    throw new ServiceError("BAD_REQUEST", "That message is not in this conversation; reload the conversation.");
  }
  const latest: MessageRow[] = [];
  let chars = 0;
  let hasEarlier = false;
  const leaf = input.through
    ? newestLeafUnder(db, conversation.id, requireMessageIn(db, conversation.id, input.through).id)
    : conversation.currentLeafId;
  for (const row of pathEndingAt(db, start ? start.parentId : leaf)) {
    // The newest message always comes, however long: a page is never empty.
    if (latest.length === limit || (latest.length > 0 && chars + row.content.length > maxChars)) {
      hasEarlier = true;
      break;
    }
    latest.push(row);
    chars += row.content.length;
  }
  const versionsOf = versionLookup(db, conversation.id);
  return {
    conversation: toConversation(conversation),
    messages: latest.reverse().map((row) => ({ ...toMessage(row), versionIds: versionsOf(row.parentId) })),
    hasEarlier,
  };
}

/** A page of the branch shown; each message with the ids of its versions (itself among them), oldest first. */
export interface ConversationPage {
  conversation: Conversation;
  messages: (Message & { versionIds: string[] })[];
  hasEarlier: boolean;
}

function requireMessageIn(db: Db, conversationId: string, messageId: string): MessageRow {
  const message = messageById(db, messageId);
  if (!message || message.conversationId !== conversationId)
    throw new ServiceError("NOT_FOUND", "That message is not in this conversation.");
  return message;
}

/** The versions under each parent, read once per parent for a page. */
function versionLookup(db: Db, conversationId: string): (parentId: string | null) => string[] {
  const known = new Map<string | null, string[]>();
  return (parentId) => {
    let ids = known.get(parentId);
    if (!ids) known.set(parentId, (ids = childIdsOf(db, conversationId, parentId)));
    return ids;
  };
}

/**
 * Shows another version: the branch through `messageId`, down its newest continuation
 * (ChatGPT's "‹ 2/3 ›"). The choice is the conversation's, so another device shows it too.
 */
export function showBranch({ db }: Pick<ConversationDeps, "db">, userId: string, input: z.infer<typeof showBranchInput>): ConversationPage {
  requireConversation(db, userId, input.id);
  const message = requireMessageIn(db, input.id, input.messageId);
  showBranchEndingAt(db, input.id, newestLeafUnder(db, input.id, message.id));
  return getConversation({ db }, userId, { id: input.id, limit: input.limit, maxChars: input.maxChars });
}

/**
 * Deletes a message and everything after it, on every branch (a reply still being written
 * there stops). A reply that is its question's only one takes the question with it: a
 * question left without any reply would be a dead end. When the branch shown went with it,
 * the version beside it is shown (the one before, else the one after), else the message
 * before it.
 */
export function deleteMessage(
  { db, quota, generations }: Pick<ConversationDeps, "db" | "quota" | "generations">,
  userId: string,
  input: z.infer<typeof deleteMessageInput>,
): ConversationPage {
  const message = messageOfUser(db, userId, input.messageId);
  if (!message) throw new ServiceError("NOT_FOUND", "That message does not exist, or it is not yours.");
  const conversationId = message.conversationId;
  const onlyReply =
    message.role === "assistant" && message.parentId !== null && childIdsOf(db, conversationId, message.parentId).length === 1;
  const top = onlyReply ? messageById(db, message.parentId!)! : message;
  const removed = db.transaction(() => {
    const versions = childIdsOf(db, conversationId, top.parentId);
    const deleted = deleteSubtree(db, top.id);
    const conversation = requireConversation(db, userId, conversationId);
    if (conversation.currentLeafId === null || deleted.includes(conversation.currentLeafId)) {
      const at = versions.indexOf(top.id);
      const beside = versions[at - 1] ?? versions[at + 1];
      showBranchEndingAt(db, conversationId, beside ? newestLeafUnder(db, conversationId, beside) : top.parentId);
    }
    return deleted;
  });
  for (const id of removed) void generations.get(id)?.stop();
  quota.recount(userId);
  return getConversation({ db }, userId, { id: conversationId, limit: input.limit, maxChars: input.maxChars });
}

/** Title, model (one people may choose) and system prompt; `conversations.rename` is this with a title. */
export function updateConversation(
  { db, env, quota, models }: Pick<ConversationDeps, "db" | "env" | "quota" | "models">,
  userId: string,
  input: z.infer<typeof updateConversationInput>,
): Conversation {
  if (input.model !== undefined) requireModel(models, input.model);
  requireReplyLength(env, input.maxReplyTokens);
  const before = requireConversation(db, userId, input.id);
  const systemPrompt = input.systemPrompt === undefined ? before.systemPrompt : input.systemPrompt?.trim() || null;
  const title = input.title ?? before.title;
  const growth = title.length + (systemPrompt?.length ?? 0) - before.title.length - (before.systemPrompt?.length ?? 0);
  if (growth > 0) quota.requireRoomFor(userId, growth);
  const unchanged = [input.title, input.model, input.systemPrompt, input.temperature, input.maxReplyTokens].every(
    (value) => value === undefined,
  );
  if (unchanged) return toConversation(before);
  const [row] = db
    .update(conversations)
    .set({
      ...(input.title !== undefined ? { title: input.title, titleSource: "person" as const } : {}),
      ...(input.model !== undefined ? { model: input.model } : {}),
      ...(input.systemPrompt !== undefined ? { systemPrompt } : {}),
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      ...(input.maxReplyTokens !== undefined ? { maxReplyTokens: input.maxReplyTokens } : {}),
      // Not activity: a renamed conversation keeps its place in the list; only messages move it.
    })
    .where(and(eq(conversations.id, input.id), eq(conversations.userId, userId)))
    .returning()
    .all();
  if (growth > 0) quota.added(userId, growth);
  return toConversation(row!);
}

/** Deletes a conversation with its messages; a reply still being written in it stops. */
export function deleteConversation(
  { db, quota, generations }: Pick<ConversationDeps, "db" | "quota" | "generations">,
  userId: string,
  { id }: z.infer<typeof conversationIdInput>,
): void {
  const chars = quota.charsIn(userId, id);
  const result = db
    .delete(conversations)
    .where(and(eq(conversations.id, id), eq(conversations.userId, userId)))
    .run();
  if (result.changes === 0) throw notFound();
  generations.stopIn(id);
  quota.removed(userId, chars);
}

/**
 * Newest activity first. The cursor is the last item's `updatedAt` and id, so pages stay
 * stable while conversations are added. `search` matches titles and message text.
 */
export function listConversations({ db }: Pick<ConversationDeps, "db">, userId: string, input: z.infer<typeof listConversationsInput>) {
  const cursor = input.cursor ? decodeCursor(input.cursor) : null;
  const rows = db
    .select()
    .from(conversations)
    .where(
      and(
        eq(conversations.userId, userId),
        cursor ? olderThanCursor(conversations.updatedAt, conversations.id, cursor) : undefined,
        input.search ? matchesSearch(db, input.search) : undefined,
      ),
    )
    .orderBy(desc(conversations.updatedAt), desc(conversations.id))
    .limit(input.limit + 1)
    .all();
  const page = rows.slice(0, input.limit);
  const search = input.search;
  const mentions = search
    ? newestMentions(
        db,
        page.map((row) => row.id),
        search,
      )
    : null;
  const items: (Conversation & { match?: SearchMatch | null })[] = page.map((row) =>
    mentions && search ? { ...toConversation(row), match: mentions(row.id) } : toConversation(row),
  );
  const last = rows.length > input.limit ? rows[input.limit - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor(last.updatedAt, last.id) : null };
}

/** Where a search found its text in a conversation: which message (on any branch), and the words around it. */
export interface SearchMatch {
  messageId: string;
  excerpt: string;
}

const EXCERPT_BEFORE = 30;
const EXCERPT_AFTER = 70;

/**
 * For each conversation of a page, the newest message holding `search`, or null (only its
 * title matched). Read from the search index in one query, which ignores case in every
 * script as the search does; a text under three characters, which the index cannot look up,
 * is matched with LIKE, one conversation at a time.
 */
function newestMentions(db: Db, conversationIds: string[], search: string): (conversationId: string) => SearchMatch | null {
  const found = new Map<string, SearchMatch>();
  const indexed = [...search].length >= 3 ? mentionsInIndex(db, conversationIds, search) : null;
  if (indexed) {
    for (const row of indexed) {
      if (!found.has(row.conversationId)) found.set(row.conversationId, { messageId: row.id, excerpt: excerptAround(row.content, search) });
    }
    return (conversationId) => found.get(conversationId) ?? null;
  }
  return (conversationId) => newestMention(db, conversationId, search);
}

/** The messages of these conversations the index finds `search` in, newest first (null when the index is unreadable now). */
function mentionsInIndex(db: Db, conversationIds: string[], search: string) {
  try {
    catchUpSearchIndex(db);
  } catch {
    return null;
  }
  return db.all<{ conversationId: string; id: string; content: string }>(
    sql`select messages.conversation_id as conversationId, messages.id as id, messages.content as content
        from message_search join messages on messages.rowid = message_search.rowid
        where message_search match ${ftsPhrase(search)}
          and message_search.conversation_id in (select value from json_each(${JSON.stringify(conversationIds)}))
        order by messages.created_at desc
        limit ${MAX_INDEXED_HITS}`,
  );
}

function newestMention(db: Db, conversationId: string, search: string): SearchMatch | null {
  const query = preparedOnce(db, "newestMention", () =>
    db
      .select({ id: messages.id, content: messages.content })
      .from(messages)
      .where(
        and(eq(messages.conversationId, sql.placeholder("conversationId")), containsText(messages.content, sql.placeholder("pattern"))),
      )
      .orderBy(desc(messages.createdAt))
      .limit(1)
      .prepare(),
  );
  const row = query.get({ conversationId, pattern: `%${escapeLike(search)}%` });
  return row ? { messageId: row.id, excerpt: excerptAround(row.content, search) } : null;
}

/** A line of text around the first place `search` occurs, white space folded, cut between words. */
export function excerptAround(text: string, search: string): string {
  const at = Math.max(0, text.toLowerCase().indexOf(search.toLowerCase()));
  const start = Math.max(0, at - EXCERPT_BEFORE);
  const end = Math.min(text.length, at + search.length + EXCERPT_AFTER);
  let piece = text.slice(start, end);
  // A word cut in two at either end is left out (unless that leaves nothing of the hit).
  if (start > 0 && /\S/.test(text[start - 1] ?? "")) piece = piece.replace(/^\S*/, "");
  if (end < text.length && /\S/.test(text[end] ?? "")) piece = piece.replace(/\S*$/, "");
  const words = piece.replace(/\s+/g, " ").trim() || search;
  return `${start > 0 ? "…" : ""}${words}${end < text.length ? "…" : ""}`;
}

/** More conversations than this with a match anywhere: reading the person's own is quicker. */
const MAX_INDEXED_HITS = 2_000;

/**
 * The title or any message contains the text, ignoring case. A rare text is looked up in the
 * trigram index of message text (drizzle/0002_message_search.sql, kept up to date by
 * server/db/search-index.ts): the conversations it is in, whoever's. A text under three
 * characters, which the index cannot look up, or one in very many conversations, is matched
 * against the person's messages newest conversation first, which ends soon when matches are
 * common.
 */
function matchesSearch(db: Db, search: string) {
  const pattern = `%${escapeLike(search)}%`;
  const hits = [...search].length >= 3 ? conversationsMentioning(db, search) : null;
  const inMessages = hits
    ? sql`${conversations.id} in (select value from json_each(${JSON.stringify(hits)}))`
    : exists(
        db
          .select({ one: sql`1` })
          .from(messages)
          .where(and(eq(messages.conversationId, conversations.id), containsText(messages.content, pattern))),
      );
  return or(containsText(conversations.title, pattern), inMessages);
}

/** The ids of conversations with a message containing `text`, or `null` when there are very many. */
function conversationsMentioning(db: Db, text: string): string[] | null {
  try {
    catchUpSearchIndex(db);
  } catch {
    // The index is behind and cannot be written now (another process holds the write lock
    // past the busy timeout): the scan finds the same conversations, only more slowly.
    return null;
  }
  const rows = db.all<{ id: string }>(
    sql`select distinct conversation_id as id from message_search where message_search match ${ftsPhrase(text)} limit ${MAX_INDEXED_HITS + 1}`,
  );
  return rows.length > MAX_INDEXED_HITS ? null : rows.map((row) => row.id);
}

/** The text as one FTS5 phrase: every character literal, quotes doubled. */
function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

// drizzle's like() has no ESCAPE clause, and without one `%` and `_` in a search are wildcards.
function containsText(column: SQLWrapper, pattern: string | SQLWrapper) {
  return sql`${column} like ${pattern} escape '\\'`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** The first line of the first message, shortened: what the peers show in their sidebars. */
export function titleFromMessage(content: string): string {
  const line = content.replace(INVISIBLE_FORMATTING, "").trim().split("\n")[0]!.replace(/\s+/g, " ").trim();
  if (!line) return DEFAULT_TITLE;
  return line.length > MAX_AUTO_TITLE_CHARS ? `${line.slice(0, MAX_AUTO_TITLE_CHARS - 3).trimEnd()}…` : line;
}
