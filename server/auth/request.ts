import { verifyRequestOrigin, type Session, type User } from "lucia";
import type { Auth } from "./lucia";
import { validateSessionToken } from "./session-tokens";

export type Credential = "cookie" | "bearer";

export interface RequestAuth {
  user: User | null;
  session: Session | null;
  /** How the request proved who it is; decides whether the origin check applies. */
  credential: Credential | null;
  /** The token it carried (the session is stored under its hash only). */
  token: string | null;
  /** Set-Cookie values the response must carry (a refreshed or a blanked session cookie). */
  cookies: string[];
}

export interface RequestHeaders {
  cookie?: string | undefined;
  authorization?: string | undefined;
}

export const ANONYMOUS: RequestAuth = { user: null, session: null, credential: null, token: null, cookies: [] };

/**
 * Resolves the session of a request. A bearer token wins over a cookie: scripts send
 * one deliberately, while a browser may carry a stale cookie along.
 */
export async function authenticateRequest(auth: Auth, headers: RequestHeaders): Promise<RequestAuth> {
  const bearer = headers.authorization ? auth.readBearerToken(headers.authorization) : null;
  if (bearer) return validate(auth, bearer, "bearer");
  const fromCookie = headers.cookie ? auth.readSessionCookie(headers.cookie) : null;
  if (fromCookie) return validate(auth, fromCookie, "cookie");
  return ANONYMOUS;
}

async function validate(auth: Auth, token: string, credential: Credential): Promise<RequestAuth> {
  const { session, user } = await validateSessionToken(auth, token);
  const cookies: string[] = [];
  if (!session || !user || user.disabledAt) {
    if (session) await auth.invalidateSession(session.id);
    if (credential === "cookie") cookies.push(auth.createBlankSessionCookie().serialize());
    return { ...ANONYMOUS, cookies };
  }
  if (session.fresh && credential === "cookie") cookies.push(auth.createSessionCookie(token).serialize());
  return { user, session, credential, token, cookies };
}

export interface OriginCheck {
  method: string;
  origin: string | undefined;
  /** The Host header, and X-Forwarded-Host when a trusted proxy set it. */
  hosts: string[];
  publicOrigin: string | undefined;
}

/**
 * Cookie-authenticated requests that change state must come from our own pages (CSRF).
 * The Host header is set by the browser to our server, so an attacker's page cannot fake
 * a match; a trusted proxy's X-Forwarded-Host and PUBLIC_ORIGIN cover proxies that rewrite Host.
 */
export function isAllowedOrigin({ method, origin, hosts, publicOrigin }: OriginCheck): boolean {
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return true;
  const allowed = [...hosts, publicOrigin].filter((value): value is string => Boolean(value));
  return verifyRequestOrigin(origin ?? "", allowed);
}
