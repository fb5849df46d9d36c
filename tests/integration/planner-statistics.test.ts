import Database from "better-sqlite3";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../server/db/client";
import { newId } from "../../server/db/ids";
import { conversations, messages, sessions, users } from "../../server/db/schema";
import { useFreshDatabases } from "../helpers/db";

const openFresh = useFreshDatabases();

/** The session lookup every signed-in request makes, and the "first message?" check of a send. */
function hotQueries(db: Db) {
  return [
    db.select({ id: sessions.id }).from(sessions).innerJoin(users, eq(sessions.userId, users.id)).where(eq(sessions.id, "x")).toSQL(),
    db.select({ id: messages.id }).from(messages).where(eq(messages.conversationId, "x")).limit(1).toSQL(),
  ];
}

function plansOf(sqlite: Database.Database, db: Db): string[] {
  return hotQueries(db).map(({ sql, params }) =>
    sqlite
      .prepare(`explain query plan ${sql}`)
      .all(...params)
      .map((row) => (row as { detail: string }).detail)
      .join(" | "),
  );
}

function addSessionsAndMessages(db: Db, count: number) {
  const userId = newId();
  const conversationId = newId();
  db.insert(users)
    .values({ id: userId, username: `u${userId}`, usernameKey: `u${userId}`, passwordHash: "x" })
    .run();
  db.insert(conversations).values({ id: conversationId, userId, title: "t", model: "m" }).run();
  for (let i = 0; i < count; i++) {
    db.insert(sessions).values({ id: newId(), userId, expiresAt: 2_000_000_000 }).run();
    db.insert(messages)
      .values({ id: newId(), conversationId, role: "user", content: `m${i}` })
      .run();
  }
}

describe("query planner statistics", () => {
  it("statistics taken on a new install do not make a grown database read whole tables", () => {
    const { database, file } = openFresh();
    // A new install: one person, one session, a message; the statistics are taken then.
    addSessionsAndMessages(database.db, 1);
    database.sqlite.exec("analyze");
    // The team grows while the server runs, and the server is killed: nothing re-analyzes.
    addSessionsAndMessages(database.db, 300);
    const stale = new Database(file);
    expect(plansOf(stale, database.db)).toEqual([expect.stringMatching(/^SCAN sessions/), expect.stringMatching(/^SCAN messages/)]);
    stale.close();

    const reopened = openDatabase(file);
    try {
      expect(plansOf(reopened.sqlite, reopened.db)).toEqual([
        expect.stringMatching(/^SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 \(id=\?\)/),
        expect.stringMatching(/^SEARCH messages USING (COVERING )?INDEX \w+ \(conversation_id=\?\)/),
      ]);
    } finally {
      reopened.close();
    }
  });
});
