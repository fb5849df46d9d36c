import { and, desc, eq, getTableColumns, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { preparedOnce } from "../db/prepared";
import { conversations, messages, type MessageRow } from "../db/schema";

/**
 * The queries every reply runs, built once per database handle (see preparedOnce): a reply
 * costs about a dozen of them, and building each in Drizzle took longer than SQLite ran it.
 * They run on the one connection, so they also take part in a `db.transaction` around them.
 */

const p = sql.placeholder;

/**
 * A placeholder in `update().set()`: Drizzle encodes it like the column at run time, but its
 * types accept placeholders there only from 1.0 on (drizzle-orm#5084); `T` is the column's type.
 */
function setTo<T>(name: string): T {
  return sql.placeholder(name) as unknown as T;
}

export function messageById(db: Db, id: string): MessageRow | undefined {
  return preparedOnce(db, "messageById", () =>
    db
      .select()
      .from(messages)
      .where(eq(messages.id, p("id")))
      .prepare(),
  ).get({ id });
}

/** An assistant message, found only through a conversation `userId` owns. */
export function messageOfUser(db: Db, userId: string, messageId: string): MessageRow | undefined {
  const query = preparedOnce(db, "messageOfUser", () =>
    db
      .select({ message: messages })
      .from(messages)
      .innerJoin(conversations, eq(messages.conversationId, conversations.id))
      .where(and(eq(messages.id, p("messageId")), eq(conversations.userId, p("userId"))))
      .prepare(),
  );
  return query.get({ messageId, userId })?.message;
}

export function messageByClientId(db: Db, conversationId: string, clientMessageId: string): MessageRow | undefined {
  const query = preparedOnce(db, "messageByClientId", () =>
    db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationId, p("conversationId")), eq(messages.clientMessageId, p("clientMessageId"))))
      .prepare(),
  );
  return query.get({ conversationId, clientMessageId });
}

export function replyTo(db: Db, questionId: string): MessageRow | undefined {
  const query = preparedOnce(db, "replyTo", () =>
    db
      .select()
      .from(messages)
      .where(eq(messages.parentId, p("parentId")))
      .prepare(),
  );
  return query.get({ parentId: questionId });
}

export function hasMessages(db: Db, conversationId: string): boolean {
  const query = preparedOnce(db, "anyMessageIn", () =>
    db
      .select({ id: messages.id })
      .from(messages)
      .where(eq(messages.conversationId, p("conversationId")))
      .limit(1)
      .prepare(),
  );
  return query.get({ conversationId }) !== undefined;
}

/**
 * A conversation's messages, newest first, with what a prompt needs: read a page at a time, so
 * a prompt that fills its budget from the latest turns never reads the rest of a long history.
 */
export function* newestMessagesOf(db: Db, conversationId: string, pageSize = 100) {
  const query = preparedOnce(db, "newestMessagesOf", () =>
    db
      .select({ id: messages.id, role: messages.role, content: messages.content, status: messages.status })
      .from(messages)
      .where(eq(messages.conversationId, p("conversationId")))
      .orderBy(desc(messages.createdAt), desc(sql`rowid`))
      .limit(p("limit"))
      .offset(p("offset"))
      .prepare(),
  );
  for (let offset = 0; ; offset += pageSize) {
    const page = query.all({ conversationId, limit: pageSize, offset });
    yield* page;
    if (page.length < pageSize) return;
  }
}

/** Where a message stands in the (created_at, rowid) order of a conversation's pages. */
export interface RowPosition {
  createdAt: Date;
  rowid: number;
}

/** `undefined` when the message is not in the conversation. */
export function messagePosition(db: Db, conversationId: string, messageId: string): RowPosition | undefined {
  return db
    .select({ createdAt: messages.createdAt, rowid: sql<number>`rowid` })
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.conversationId, conversationId)))
    .get();
}

/**
 * A conversation's messages, whole, newest first (before `before`, when given): read a batch
 * at a time, each after the last row read (an offset would walk past every earlier row
 * again), so a reader that stops early reads at most a batch past where it stopped.
 */
export function* messagesNewestFirst(db: Db, conversationId: string, before: RowPosition | null, batchSize = 50): Generator<MessageRow> {
  let after = before;
  for (;;) {
    const batch = db
      .select({ ...getTableColumns(messages), rowid: sql<number>`rowid` })
      .from(messages)
      .where(and(eq(messages.conversationId, conversationId), after ? olderThan(after) : undefined))
      .orderBy(desc(messages.createdAt), desc(sql`rowid`))
      .limit(batchSize)
      .all();
    for (const { rowid: _, ...row } of batch) yield row;
    if (batch.length < batchSize) return;
    after = batch.at(-1)!;
  }
}

/** Messages before a position, in the same order. */
function olderThan(anchor: RowPosition) {
  return or(lt(messages.createdAt, anchor.createdAt), and(eq(messages.createdAt, anchor.createdAt), sql`rowid < ${anchor.rowid}`));
}

export type NewMessage = Pick<
  MessageRow,
  "id" | "conversationId" | "role" | "content" | "status" | "model" | "clientMessageId" | "parentId" | "createdAt"
>;

export function insertMessage(db: Db, message: NewMessage): MessageRow {
  const query = preparedOnce(db, "insertMessage", () =>
    db
      .insert(messages)
      .values({
        id: p("id"),
        conversationId: p("conversationId"),
        role: p("role"),
        content: p("content"),
        status: p("status"),
        model: p("model"),
        clientMessageId: p("clientMessageId"),
        parentId: p("parentId"),
        createdAt: p("createdAt"),
      })
      .returning()
      .prepare(),
  );
  return query.get(message);
}

/** A new turn moves the conversation to the top of the list and records the model it used. */
export function recordTurn(db: Db, id: string, turn: { updatedAt: Date; model: string; title?: string }): void {
  if (turn.title !== undefined) {
    const query = preparedOnce(db, "recordTurnTitled", () =>
      db
        .update(conversations)
        .set({ updatedAt: setTo<Date>("updatedAt"), model: setTo<string>("model"), title: setTo<string>("title") })
        .where(eq(conversations.id, p("id")))
        .prepare(),
    );
    query.run({ id, updatedAt: turn.updatedAt, model: turn.model, title: turn.title });
    return;
  }
  const query = preparedOnce(db, "recordTurn", () =>
    db
      .update(conversations)
      .set({ updatedAt: setTo<Date>("updatedAt"), model: setTo<string>("model") })
      .where(eq(conversations.id, p("id")))
      .prepare(),
  );
  query.run({ id, updatedAt: turn.updatedAt, model: turn.model });
}

/** A finished reply moves its conversation to the top of the list. */
export function touchConversation(db: Db, id: string, updatedAt: Date): void {
  const query = preparedOnce(db, "touchConversation", () =>
    db
      .update(conversations)
      .set({ updatedAt: setTo<Date>("updatedAt") })
      .where(eq(conversations.id, p("id")))
      .prepare(),
  );
  query.run({ id, updatedAt });
}

/** The partial text (and thinking) of a running reply, saved now and then so a crash loses little. */
export function saveReplyText(db: Db, id: string, content: string, reasoning: string): void {
  const query = preparedOnce(db, "saveReplyText", () =>
    db
      .update(messages)
      .set({ content: setTo<string>("content"), reasoning: setTo<string>("reasoning") })
      .where(eq(messages.id, p("id")))
      .prepare(),
  );
  query.run({ id, content, reasoning });
}

export type ReplyOutcome = Pick<
  MessageRow,
  "content" | "reasoning" | "reasoningMs" | "status" | "error" | "finishReason" | "promptTokens" | "completionTokens" | "usageEstimated"
>;

/** The saved message, or undefined when it is gone (its conversation was deleted meanwhile). */
export function saveReply(db: Db, id: string, outcome: ReplyOutcome): MessageRow | undefined {
  const query = preparedOnce(db, "saveReply", () =>
    db
      .update(messages)
      .set({
        content: setTo<string>("content"),
        reasoning: setTo<string>("reasoning"),
        reasoningMs: setTo<number | null>("reasoningMs"),
        status: setTo<MessageRow["status"]>("status"),
        error: setTo<string | null>("error"),
        finishReason: setTo<MessageRow["finishReason"]>("finishReason"),
        promptTokens: setTo<number | null>("promptTokens"),
        completionTokens: setTo<number | null>("completionTokens"),
        usageEstimated: setTo<boolean>("usageEstimated"),
      })
      .where(eq(messages.id, p("id")))
      .returning()
      .prepare(),
  );
  return query.get({ id, ...outcome });
}

/** The newest message of a conversation, in "oldest first" order: only it can be regenerated. */
export function latestMessageIdOf(db: Db, conversationId: string): string | undefined {
  return db
    .select({ id: messages.id })
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(desc(messages.createdAt), desc(sql`rowid`))
    .limit(1)
    .get()?.id;
}

/** A reply no generation here owns, stopped where it was. */
export function markStopped(db: Db, id: string): MessageRow | undefined {
  return db.update(messages).set({ status: "stopped" }).where(eq(messages.id, id)).returning().get();
}

export function removeMessage(db: Db, id: string): void {
  db.delete(messages).where(eq(messages.id, id)).run();
}

/** Every reply still marked streaming, marked interrupted with `error`: how many there were. */
export function markInterrupted(db: Db, error: string): number {
  return db.update(messages).set({ status: "interrupted", error }).where(eq(messages.status, "streaming")).run().changes;
}
