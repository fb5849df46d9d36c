import type { Response } from "express";
import { sql } from "drizzle-orm";
import { secureCookieWillBeDropped } from "../auth/lucia";
import { DatabaseUnavailableError, writeGateOf } from "../db/write-gate";
import { toPublicUser, type PublicUser } from "../services/accounts";
import { createContextInner, type AppRuntime } from "../trpc/context";
import { describeError } from "../trpc/errors";
import { createCaller, type Caller } from "../trpc/root";
import { requestLocals } from "./auth-middleware";

/**
 * What Remix loaders and actions get as `context`. Pages call the same procedures as
 * every other client, through a server-side caller, so validation, ownership and errors
 * are identical; and nothing under server/ is bundled into the Remix build.
 */
// A type alias, not an interface: Remix's AppLoadContext has an index signature.
export type RemixContext = {
  api: Caller;
  user: PublicUser | null;
  /** Set-Cookie values the procedures called during this request want sent. */
  responseCookies: string[];
  describeError: typeof describeError;
  /** An unexpected failure of this request, as one log line with its request id. */
  logError: (error: unknown, message: string) => void;
  checkHealth: () => HealthReport;
  /** The nonce of this response's Content-Security-Policy, for Remix's inline scripts. */
  cspNonce: string;
  /** True when the session cookie could not be kept by the browser (production over plain http). */
  insecureOrigin: (requestUrl: string) => boolean;
  /** PUBLIC_ORIGIN, for links people are sent (invite links) when a proxy rewrites Host. */
  publicOrigin: string | undefined;
};

export interface HealthReport {
  ok: boolean;
  /** `locked`: another program holds the write lock; `disk full`, `cannot write`: the last write failed so. */
  database: "ok" | "unreachable" | "locked" | "disk full" | "cannot write";
  /** What an admin can do about it. */
  detail?: string;
}

export function createRemixContext(services: AppRuntime, res: Response, ip: string, requestId: string): RemixContext {
  const { auth, crossSite } = requestLocals(res);
  const responseCookies: string[] = [];
  const ctx = createContextInner(services, { auth, crossSite, setCookie: (cookie) => responseCookies.push(cookie), ip, requestId });
  return {
    api: createCaller(ctx),
    user: auth.user ? toPublicUser(auth.user) : null,
    responseCookies,
    describeError,
    logError: (error, message) => services.logger.error({ err: error, requestId }, message),
    checkHealth: () => checkHealth(services),
    cspNonce: String(res.locals.cspNonce ?? ""),
    insecureOrigin: (requestUrl) => secureCookieWillBeDropped(services.env, requestUrl),
    publicOrigin: services.env.PUBLIC_ORIGIN,
  };
}

/**
 * Whether the server can serve now (a readiness check, not a liveness one: a backup holding the
 * lock is no reason to restart it): the database answers reads, its write lock is free within
 * 100 ms, and no write failed in the last 30 s. Failures are recent only, since a server taken
 * out of rotation gets no writes that could show it has recovered.
 */
function checkHealth({ db }: AppRuntime): HealthReport {
  const gate = writeGateOf(db.$client);
  try {
    db.get(sql`select 1`);
    if (!gate.lockIsFree(100)) return { ok: false, database: "locked", detail: new DatabaseUnavailableError("locked").message };
  } catch {
    return { ok: false, database: "unreachable" };
  }
  const failure = gate.lastFailure;
  if (!failure || failure.reason === "locked" || Date.now() - failure.at.getTime() > 30_000) return { ok: true, database: "ok" };
  return {
    ok: false,
    database: failure.reason === "full" ? "disk full" : "cannot write",
    detail: `${new DatabaseUnavailableError(failure.reason).message} (last write failed at ${failure.at.toISOString()})`,
  };
}

declare module "@remix-run/server-runtime" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the augmentation is the point
  interface AppLoadContext extends RemixContext {}
}
