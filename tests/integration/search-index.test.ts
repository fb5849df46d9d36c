import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newId } from "../../server/db/ids";
import { conversations, messages, messageSearchQueue, users, type MessageRow } from "../../server/db/schema";
import { catchUpSearchIndex, indexQueuedMessages, startSearchIndexer } from "../../server/db/search-index";
import { createLogger } from "../../server/logger";
import { useFreshDatabases } from "../helpers/db";

const openDatabase = useFreshDatabases();
afterEach(() => {
  vi.useRealTimers();
});

function open() {
  const { db } = openDatabase().database;
  const userId = newId();
  db.insert(users).values({ id: userId, username: "u", usernameKey: "u", passwordHash: "x" }).run();
  const conversationId = newId();
  db.insert(conversations).values({ id: conversationId, userId, title: "t", model: "m" }).run();
  const addMessage = (content: string, status: MessageRow["status"] = "complete") =>
    db.insert(messages).values({ id: newId(), conversationId, role: "user", content, status }).returning().get();
  /** What the index holds, by message id. */
  const indexed = () =>
    db
      .all<{ id: string; content: string }>(
        sql`select m.id as id, s.content as content from message_search s join messages m on m.rowid = s.rowid order by s.rowid`,
      )
      .map((row) => [row.id, row.content]);
  const queued = () => db.select().from(messageSearchQueue).all().length;
  const rowidOf = (id: string) => db.get<{ rowid: number }>(sql`select rowid from messages where id = ${id}`).rowid;
  return { db, conversationId, addMessage, indexed, queued, rowidOf };
}

describe("the search index", () => {
  it("takes in written messages in one batch, not inside each write", () => {
    const { db, addMessage, indexed, queued } = open();
    const first = addMessage("first question");
    const second = addMessage("second question");
    expect(indexed()).toEqual([]);
    expect(queued()).toBe(2);

    expect(indexQueuedMessages(db)).toBe(2);
    expect(indexed()).toEqual([
      [first.id, "first question"],
      [second.id, "second question"],
    ]);
    expect(queued()).toBe(0);
    expect(indexQueuedMessages(db)).toBe(0);
  });

  it("leaves a streaming reply out, checkpoints included, and takes it in once it ends", () => {
    const { db, addMessage, indexed, queued } = open();
    const reply = addMessage("", "streaming");
    db.update(messages).set({ content: "partial text" }).where(eq(messages.id, reply.id)).run();
    expect(queued()).toBe(0);

    db.update(messages).set({ content: "the whole reply", status: "complete" }).where(eq(messages.id, reply.id)).run();
    catchUpSearchIndex(db);
    expect(indexed()).toEqual([[reply.id, "the whole reply"]]);
  });

  it("replaces edited text and forgets deleted messages, even when a new message reuses the rowid", () => {
    const { db, addMessage, indexed, rowidOf } = open();
    const kept = addMessage("kept");
    const edited = addMessage("old text");
    const deleted = addMessage("deleted text");
    catchUpSearchIndex(db);

    db.update(messages).set({ content: "new text" }).where(eq(messages.id, edited.id)).run();
    db.delete(messages).where(eq(messages.id, deleted.id)).run();
    // SQLite gives the highest rowid again once it is free: the queue holds it once, for both.
    const reusing = addMessage("reusing the rowid");
    expect(rowidOf(reusing.id)).toBe(rowidOf(edited.id) + 1);
    catchUpSearchIndex(db);
    expect(indexed()).toEqual([
      [kept.id, "kept"],
      [edited.id, "new text"],
      [reusing.id, "reusing the rowid"],
    ]);
  });

  it("works through a long queue a batch at a time", () => {
    const { db, conversationId, indexed, queued } = open();
    const rows = Array.from({ length: 1200 }, (_, i) => ({ id: newId(), conversationId, role: "user" as const, content: `message ${i}` }));
    db.insert(messages).values(rows).run();

    expect(indexQueuedMessages(db, 500)).toBe(500);
    expect(queued()).toBe(700);
    catchUpSearchIndex(db);
    expect(queued()).toBe(0);
    expect(indexed()).toHaveLength(1200);
  });

  it("is kept up by the server's indexer in the background, and caught up when it stops", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { db, addMessage, indexed } = open();
    addMessage("queued before start");
    const indexer = startSearchIndexer(db, createLogger({ LOG_LEVEL: "silent", NODE_ENV: "test" }), 200);
    expect(indexed()).toHaveLength(1);

    addMessage("queued while running");
    expect(indexed()).toHaveLength(1);
    vi.advanceTimersByTime(200);
    expect(indexed()).toHaveLength(2);

    addMessage("queued at shutdown");
    indexer.stop();
    expect(indexed()).toHaveLength(3);
  });
});
