import { createHash } from "node:crypto";
import type { Session, User } from "lucia";
import { randomBase32 } from "../db/ids";
import type { Auth } from "./lucia";

/**
 * A session is stored under the SHA-256 of its token, never the token itself (Lucia's own
 * advice for v3): a copy of the database, a backup, or a read of the sessions table gives no
 * one a way into an account. The token (160 random bits) is what the browser's cookie and a
 * script's bearer header carry; a plain hash is enough for a secret that random.
 */
export function sessionIdOf(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createSessionToken(auth: Auth, userId: string): Promise<{ session: Session; token: string }> {
  const token = randomBase32(32);
  const session = await auth.createSession(userId, {}, { sessionId: sessionIdOf(token) });
  return { session, token };
}

/** The session a token opens, if it is current. */
export function validateSessionToken(auth: Auth, token: string): Promise<{ session: Session; user: User } | { session: null; user: null }> {
  return auth.validateSession(sessionIdOf(token));
}
