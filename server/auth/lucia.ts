import { Lucia, TimeSpan } from "lucia";
import type { Db } from "../db/client";
import type { UserRow } from "../db/schema";
import type { Env } from "../env";
import { SessionAdapter } from "./session-adapter";

export const SESSION_COOKIE_NAME = "teamgpt_session";

export function createAuth(db: Db, env: Env) {
  return new Lucia(new SessionAdapter(db), {
    sessionExpiresIn: new TimeSpan(env.SESSION_DAYS, "d"),
    sessionCookie: {
      name: SESSION_COOKIE_NAME,
      expires: true,
      attributes: { sameSite: "lax", secure: secureCookies(env) },
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
export function secureCookies(env: Pick<Env, "NODE_ENV" | "PUBLIC_ORIGIN">): boolean {
  if (env.NODE_ENV !== "production") return false;
  return !env.PUBLIC_ORIGIN?.startsWith("http://");
}

declare module "lucia" {
  interface Register {
    Lucia: Auth;
    DatabaseUserAttributes: Pick<UserRow, "username" | "role" | "createdAt" | "disabledAt">;
  }
}

/**
 * Browsers drop a Secure cookie set over plain http, except on localhost: such a login
 * "works" and then forgets the person at once. Pages warn instead of failing silently.
 */
export function secureCookieWillBeDropped(env: Pick<Env, "NODE_ENV" | "PUBLIC_ORIGIN">, requestUrl: string): boolean {
  const url = new URL(requestUrl);
  const local = url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]";
  return secureCookies(env) && url.protocol === "http:" && !local;
}
