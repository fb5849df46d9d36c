import { DrizzleSQLiteAdapter } from "@lucia-auth/adapter-drizzle";
import { eq, sql } from "drizzle-orm";
import type { Adapter, DatabaseSession, DatabaseUser } from "lucia";
import type { Db } from "../db/client";
import { sessions, users } from "../db/schema";
import { unavailableReason } from "../db/write-gate";

/**
 * Lucia's Drizzle adapter, with its hottest call — every authenticated request resolves its
 * session — done as one prepared join instead of two freshly built queries.
 */
export class SessionAdapter implements Adapter {
  private readonly base: DrizzleSQLiteAdapter;
  private readonly sessionWithUser;

  constructor(db: Db) {
    this.base = new DrizzleSQLiteAdapter(db, sessions, users);
    this.sessionWithUser = db
      .select({
        id: sessions.id,
        userId: sessions.userId,
        expiresAt: sessions.expiresAt,
        username: users.username,
        role: users.role,
        createdAt: users.createdAt,
        disabledAt: users.disabledAt,
      })
      .from(sessions)
      .innerJoin(users, eq(sessions.userId, users.id))
      .where(eq(sessions.id, sql.placeholder("id")))
      .prepare();
  }

  getSessionAndUser(sessionId: string): Promise<[DatabaseSession | null, DatabaseUser | null]> {
    const row = this.sessionWithUser.get({ id: sessionId });
    if (!row) return Promise.resolve([null, null]);
    const { id, userId, expiresAt, ...attributes } = row;
    return Promise.resolve([
      { id, userId, expiresAt: new Date(expiresAt * 1000), attributes: {} },
      { id: userId, attributes },
    ]);
  }

  getUserSessions(userId: string) {
    return this.base.getUserSessions(userId);
  }
  setSession(session: DatabaseSession) {
    return this.base.setSession(session);
  }
  /** Extending a session is best effort: a database that cannot write now must not sign anyone out. */
  async updateSessionExpiration(sessionId: string, expiresAt: Date) {
    try {
      await this.base.updateSessionExpiration(sessionId, expiresAt);
    } catch (error) {
      if (!unavailableReason(error)) throw error;
    }
  }
  deleteSession(sessionId: string) {
    return this.base.deleteSession(sessionId);
  }
  deleteUserSessions(userId: string) {
    return this.base.deleteUserSessions(userId);
  }
  deleteExpiredSessions() {
    return this.base.deleteExpiredSessions();
  }
}
