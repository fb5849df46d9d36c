import type { NextFunction, Request, Response } from "express";
import { ANONYMOUS, authenticateRequest, isAllowedOrigin, type RequestAuth } from "../auth/request";
import type { AppRuntime } from "../trpc/context";

/** Sent by TeamGPT's own client (client/index.ts) on every request it makes. */
export const CLIENT_HEADER = "x-teamgpt-client";

export interface RequestLocals {
  auth: RequestAuth;
  crossSite: boolean;
}

/** Reads the session once per request, for tRPC and Remix alike. */
export function authMiddleware(services: AppRuntime) {
  return (req: Request, res: Response, next: NextFunction) => {
    authenticateRequest(services.auth, { cookie: req.headers.cookie, authorization: req.headers.authorization }).then((auth) => {
      for (const cookie of auth.cookies) res.append("Set-Cookie", cookie);
      res.locals.auth = auth;
      res.locals.crossSite = isCrossSite(req, auth, services);
      next();
    }, next);
  };
}

function isCrossSite(req: Request, auth: RequestAuth, { env, logger }: Pick<AppRuntime, "env" | "logger">): boolean {
  const method = req.method;
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") {
    // Reading is safe from anywhere: the browser keeps another site from reading the answer.
    // But an event stream started by GET creates a message, and a page of another app on the
    // same site (or a browser that sends no Sec-Fetch-Site) must not: a cookie GET counts as
    // ours only when the browser says it came from our own origin, or when it carries our
    // client's header, which no other origin can send without a CORS preflight we never answer.
    if (auth.credential !== "cookie") return false;
    return req.headers["sec-fetch-site"] !== "same-origin" && req.headers[CLIENT_HEADER] === undefined;
  }
  const origin = req.headers.origin;
  // Scripts send no Origin; a browser always does on POST, so a cookie without one is suspect.
  if (!origin) return auth.credential === "cookie";
  const hosts = ourHosts(req);
  if (isAllowedOrigin({ method, origin, hosts, publicOrigin: env.PUBLIC_ORIGIN })) return false;
  if (auth.credential !== "bearer") {
    // Behind a proxy this is the usual first-day failure: say what was compared with what.
    logger.warn(
      { origin, expected: [...hosts, ...(env.PUBLIC_ORIGIN ? [env.PUBLIC_ORIGIN] : [])], trustProxy: env.TRUST_PROXY },
      "refused a request from another origin; behind a reverse proxy, set PUBLIC_ORIGIN to the address people open (docs/deploy.md)",
    );
  }
  return true;
}

/**
 * The host names this request was sent to: its Host header, and the X-Forwarded-Host a
 * trusted proxy (TRUST_PROXY) sets, for a proxy that passes its own Host on.
 */
function ourHosts(req: Request): string[] {
  const hosts = req.headers.host ? [req.headers.host] : [];
  const trusted = req.app.get("trust proxy fn") as (address: string, hop: number) => boolean;
  const forwarded = req.headers["x-forwarded-host"];
  if (typeof forwarded === "string" && trusted(req.socket.remoteAddress ?? "", 0)) hosts.push(forwarded.split(",")[0]!.trim());
  return hosts;
}

export function requestLocals(res: Response): RequestLocals {
  const locals = res.locals as Partial<RequestLocals>;
  return { auth: locals.auth ?? ANONYMOUS, crossSite: locals.crossSite ?? false };
}
