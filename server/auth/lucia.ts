import { DrizzleSQLiteAdapter } from "@lucia-auth/adapter-drizzle";
import { Lucia, TimeSpan } from "lucia";
import type { Db } from "../db/client";
import { sessions, users, type UserRow } from "../db/schema";
import type { Env } from "../env";

export const SESSION_COOKIE_NAME = "teamgpt_session";

export function createAuth(db: Db, env: Env) {
  return new Lucia(new DrizzleSQLiteAdapter(db, sessions, users), {
    sessionExpiresIn: new TimeSpan(env.SESSION_DAYS, "d"),
    sessionCookie: {
      name: SESSION_COOKIE_NAME,
      expires: true,
      attributes: { sameSite: "lax", secure: useSecureCookie(env) },
    },
    getUserAttributes: (row) => ({
      username: row.username,
      role: row.role,
      createdAt: row.createdAt,
      disabledAt: row.disabledAt,
    }),
  });
}

export type Auth = ReturnType<typeof createAuth>;

/**
 * Secure in production, except when PUBLIC_ORIGIN says the app is reached over plain
 * http (a LAN install): browsers drop Secure cookies there and nobody could log in.
 */
function useSecureCookie(env: Env): boolean {
  if (env.NODE_ENV !== "production") return false;
  return !env.PUBLIC_ORIGIN?.startsWith("http://");
}

declare module "lucia" {
  interface Register {
    Lucia: Auth;
    DatabaseUserAttributes: Pick<UserRow, "username" | "role" | "createdAt" | "disabledAt">;
  }
}
