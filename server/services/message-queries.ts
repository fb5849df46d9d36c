import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { preparedOnce } from "../db/prepared";
import { conversations, messages, type ConversationRow, type MessageRow } from "../db/schema";

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

/** The replies to a message, oldest first: one, or several after a comparison or regenerations. */
export function repliesTo(db: Db, questionId: string): MessageRow[] {
  const query = preparedOnce(db, "repliesTo", () =>
    db
      .select()
      .from(messages)
      .where(eq(messages.parentId, p("parentId")))
      .orderBy(asc(messages.createdAt), asc(sql`rowid`))
      .prepare(),
  );
  return query.all({ parentId: questionId });
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

export function conversationById(db: Db, id: string): ConversationRow | undefined {
  return db.select().from(conversations).where(eq(conversations.id, id)).get();
}

/**
 * A title a model wrote, kept only while the title is still the one taken from the first
 * message: a person who renamed the conversation meanwhile keeps their title. True if kept.
 */
export function saveModelTitle(db: Db, conversationId: string, title: string): boolean {
  const result = db
    .update(conversations)
    .set({ title, titleSource: "model" })
    .where(and(eq(conversations.id, conversationId), eq(conversations.titleSource, "message")))
    .run();
  return result.changes > 0;
}

/** The messages that follow `parentId` (null: a conversation's first messages), oldest first: its versions. */
export function childIdsOf(db: Db, conversationId: string, parentId: string | null): string[] {
  const query =
    parentId === null
      ? preparedOnce(db, "firstMessageIds", () =>
          db
            .select({ id: messages.id })
            .from(messages)
            .where(and(eq(messages.conversationId, p("conversationId")), isNull(messages.parentId)))
            .orderBy(asc(messages.createdAt), asc(sql`rowid`))
            .prepare(),
        )
      : preparedOnce(db, "childIds", () =>
          db
            .select({ id: messages.id })
            .from(messages)
            .where(and(eq(messages.conversationId, p("conversationId")), eq(messages.parentId, p("parentId"))))
            .orderBy(asc(messages.createdAt), asc(sql`rowid`))
            .prepare(),
        );
  return query.all({ conversationId, parentId }).map((row) => row.id);
}

/** The end of the newest branch through a message: its newest child's, and so on. */
export function newestLeafUnder(db: Db, conversationId: string, messageId: string): string {
  let leaf = messageId;
  for (;;) {
    const children = childIdsOf(db, conversationId, leaf);
    const newest = children.at(-1);
    if (!newest) return leaf;
    leaf = newest;
  }
}

export function showBranchEndingAt(db: Db, conversationId: string, leafId: string | null): void {
  db.update(conversations).set({ currentLeafId: leafId }).where(eq(conversations.id, conversationId)).run();
}

/** Deletes a message and every message after it on any branch (its replies, their follow-ups, all their versions); answers their ids. */
export function deleteSubtree(db: Db, messageId: string): string[] {
  const rows = db.all<{ id: string }>(sql`with recursive subtree(id) as (
      select id from messages where id = ${messageId}
      union all select messages.id from messages join subtree on messages.parent_id = subtree.id
    )
    delete from messages where id in (select id from subtree) returning id`);
  return rows.map((row) => row.id);
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
/** A new turn: the conversation moves up the list, shows the branch ending at `leafId`, and maybe gets its title. */
export function recordTurn(db: Db, id: string, turn: { updatedAt: Date; model: string; leafId: string; title?: string }): void {
  if (turn.title !== undefined) {
    const query = preparedOnce(db, "recordTurnTitled", () =>
      db
        .update(conversations)
        .set({
          updatedAt: setTo<Date>("updatedAt"),
          model: setTo<string>("model"),
          currentLeafId: setTo<string>("leafId"),
          title: setTo<string>("title"),
          titleSource: sql`'message'`,
        })
        .where(eq(conversations.id, p("id")))
        .prepare(),
    );
    query.run({ id, updatedAt: turn.updatedAt, model: turn.model, leafId: turn.leafId, title: turn.title });
    return;
  }
  const query = preparedOnce(db, "recordTurn", () =>
    db
      .update(conversations)
      .set({ updatedAt: setTo<Date>("updatedAt"), model: setTo<string>("model"), currentLeafId: setTo<string>("leafId") })
      .where(eq(conversations.id, p("id")))
      .prepare(),
  );
  query.run({ id, updatedAt: turn.updatedAt, model: turn.model, leafId: turn.leafId });
}

/**
 * The path to a message from the first message, read backwards: the message itself, then
 * its parent, and so on, one lookup by id each, as far as the reader goes. Other branches are
 * never read, however many there are.
 */
export function* pathEndingAt(db: Db, messageId: string | null): Generator<MessageRow> {
  for (let id = messageId; id !== null;) {
    const row = messageById(db, id);
    if (!row) return;
    yield row;
    id = row.parentId;
  }
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

/** A reply no generation here owns, stopped where it was. */
export function markStopped(db: Db, id: string): MessageRow | undefined {
  return db.update(messages).set({ status: "stopped" }).where(eq(messages.id, id)).returning().get();
}

/** Every reply still marked streaming, marked interrupted with `error`: how many there were. */
export function markInterrupted(db: Db, error: string): number {
  return db.update(messages).set({ status: "interrupted", error }).where(eq(messages.status, "streaming")).run().changes;
}
