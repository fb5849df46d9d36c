import { randomBytes } from "node:crypto";
import { hashPassword } from "../../server/auth/password";
import { newId } from "../../server/db/ids";
import { conversations, messages, users, type MessageRow, type UserRole } from "../../server/db/schema";
import { toPublicUser } from "../../server/services/accounts";
import { generateKeys } from "../../server/services/registration-keys";
import { ANONYMOUS, type RequestAuth } from "../../server/auth/request";
import { createSessionToken, validateSessionToken } from "../../server/auth/session-tokens";
import { createContextInner, type AppRuntime } from "../../server/trpc/context";
import { createCaller } from "../../server/trpc/root";
import { FAKE_MODELS } from "./upstream";
import { linkAsOneBranch } from "./tree";

export const TEST_PASSWORD = "correct horse battery";

export function uniqueUsername(prefix = "user"): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

export async function createUser(services: AppRuntime, options: { role?: UserRole; username?: string; password?: string } = {}) {
  const username = options.username ?? uniqueUsername(options.role ?? "user");
  const [row] = services.db
    .insert(users)
    .values({
      id: newId(),
      username,
      usernameKey: username.toLowerCase(),
      passwordHash: await hashPassword(options.password ?? TEST_PASSWORD),
      role: options.role ?? "user",
    })
    .returning()
    .all();
  return toPublicUser(row!);
}

/**
 * A conversation of `userId` holding `turns` (oldest first), written as saved replies are:
 * for a reply no model could be made to write.
 */
export function createConversation(
  services: AppRuntime,
  userId: string,
  turns: Pick<MessageRow, "role" | "content">[],
  title = "A saved conversation",
): string {
  const id = newId();
  const start = Date.now() - turns.length * 1000;
  services.db.insert(conversations).values({ id, userId, title, model: FAKE_MODELS[0]! }).run();
  services.db
    .insert(messages)
    .values(turns.map((turn, i) => ({ id: newId(), conversationId: id, ...turn, createdAt: new Date(start + i * 1000) })))
    .run();
  linkAsOneBranch(services.db, id);
  return id;
}

export function createKey(services: AppRuntime, options: { expiresAt?: Date; note?: string } = {}): string {
  const [key] = generateKeys(services, null, { count: 1, ...options });
  return key!.key;
}

export interface TestCaller {
  api: ReturnType<typeof createCaller>;
  cookies: string[];
}

/** A caller as a browser or script would be: anonymous, or signed in with a real session. */
export async function callerFor(
  services: AppRuntime,
  options: { userId?: string; credential?: "cookie" | "bearer"; crossSite?: boolean; ip?: string } = {},
): Promise<TestCaller> {
  let auth: RequestAuth = ANONYMOUS;
  if (options.userId) {
    const { session, token } = await createSessionToken(services.auth, options.userId);
    const { user } = await validateSessionToken(services.auth, token);
    auth = { user, session, credential: options.credential ?? "bearer", token, cookies: [] };
  }
  const cookies: string[] = [];
  const ctx = createContextInner(services, {
    auth,
    crossSite: options.crossSite ?? false,
    setCookie: (c) => cookies.push(c),
    ip: options.ip ?? "127.0.0.1",
    requestId: "test-request",
  });
  return { api: createCaller(ctx), cookies };
}
