import type { AppRuntime } from "../app-runtime";
import type { RequestAuth } from "../auth/request";

export type { AppRuntime };

export interface RequestFacts {
  auth: RequestAuth;
  /** The request came from another site (CSRF): state changes by cookie are refused. */
  crossSite: boolean;
  /** Adds a Set-Cookie header to the response. */
  setCookie: (cookie: string) => void;
  /** The client's address, for per-IP limits (the proxy's X-Forwarded-For when it is on loopback). */
  ip: string;
  /** Ties this request's log lines together. */
  requestId: string;
}

/** The context without HTTP, so tests and pages build it directly (tRPC's createContextInner). */
export function createContextInner(services: AppRuntime, facts: RequestFacts) {
  return {
    ...services,
    user: facts.auth.user,
    session: facts.auth.session,
    credential: facts.auth.credential,
    token: facts.auth.token,
    crossSite: facts.crossSite,
    setCookie: facts.setCookie,
    ip: facts.ip,
    requestId: facts.requestId,
  };
}

export type Context = ReturnType<typeof createContextInner>;
