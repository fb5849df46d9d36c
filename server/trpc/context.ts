import type { Auth } from "../auth/lucia";
import type { RequestAuth } from "../auth/request";
import type { Db } from "../db/client";
import type { Env } from "../env";

/** What one process holds once: the database handle, auth and configuration. */
export interface AppServices {
  db: Db;
  auth: Auth;
  env: Env;
}

export interface RequestFacts {
  auth: RequestAuth;
  /** The request came from another site (CSRF): state changes by cookie are refused. */
  crossSite: boolean;
  /** Adds a Set-Cookie header to the response. */
  setCookie: (cookie: string) => void;
}

/** The context without HTTP, so tests and pages build it directly (tRPC's createContextInner). */
export function createContextInner(services: AppServices, facts: RequestFacts) {
  return {
    ...services,
    user: facts.auth.user,
    session: facts.auth.session,
    credential: facts.auth.credential,
    crossSite: facts.crossSite,
    setCookie: facts.setCookie,
  };
}

export type Context = ReturnType<typeof createContextInner>;
