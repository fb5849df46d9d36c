import type { NextFunction, Request, Response } from "express";
import type { RequestAuth } from "../auth/request";
import { requestLocals } from "./auth-middleware";

/**
 * Request bodies are read into memory (tRPC's JSON, Remix's forms) before anything looks at
 * them. 250 sockets that each sent 4 MB of a body and then stalled, with no login, took the
 * server from 121 MB to 1.1 GB. So a body may be only as large as its sender needs (a login is
 * tiny), and the bodies being received at once may take only so much memory, per client and
 * in all; the rest are refused before they are read.
 */
export const BODY_LIMITS = {
  /** Logins and registrations. */
  anonymous: 64 * 1024,
  /** A message of 100,000 characters of any script, escaped as JSON or a form (up to 12 bytes each). */
  user: 2 * 1024 * 1024,
  /** A 2 MB keys file, as JSON or a form. */
  admin: 4 * 1024 * 1024,
} as const;

const TOTAL_BYTES = 64 * 1024 * 1024;
const PER_CLIENT_BYTES = 8 * 1024 * 1024;

export function bodyLimitFor(auth: RequestAuth): number {
  if (!auth.user) return BODY_LIMITS.anonymous;
  return auth.user.role === "admin" ? BODY_LIMITS.admin : BODY_LIMITS.user;
}

export class BodyBudget {
  private inFlight = 0;
  private readonly perClient = new Map<string, number>();

  /** Holds `bytes` for a body being received; null when that would pass a limit. */
  reserve(client: string, bytes: number): (() => void) | null {
    const mine = this.perClient.get(client) ?? 0;
    if (this.inFlight + bytes > TOTAL_BYTES || mine + bytes > PER_CLIENT_BYTES) return null;
    this.inFlight += bytes;
    this.perClient.set(client, mine + bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= bytes;
      const left = (this.perClient.get(client) ?? bytes) - bytes;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    };
  }
}

export interface BodyRefusal {
  status: 411 | 413 | 429;
  message: string;
}

/**
 * Decides whether a request's body may be received, and holds its share of the budget until the
 * response is done. Calls `refuse` (and not `next`) when it may not.
 */
export function admitBody(budget: BodyBudget, client: (req: Request) => string, refuse: (res: Response, refusal: BodyRefusal) => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return next();
    const limit = bodyLimitFor(requestLocals(res).auth);
    const declared = req.headers["content-length"] === undefined ? null : Number(req.headers["content-length"]);
    if (declared === null && req.headers["transfer-encoding"]) {
      // Without a length, room for the largest body this sender may send is held.
    } else if (declared !== null && !(declared >= 0)) {
      return refuse(res, { status: 411, message: "Send the request with a valid Content-Length." });
    }
    if (declared !== null && declared > limit) {
      return refuse(res, { status: 413, message: `The request is too large (at most ${describeBytes(limit)}).` });
    }
    const release = budget.reserve(client(req), declared ?? limit);
    if (!release) {
      return refuse(res, { status: 429, message: "The server is receiving too much from you at once. Try again in a moment." });
    }
    res.once("close", release);
    res.locals.bodyLimit = limit;
    next();
  };
}

export function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MB` : `${Math.round(bytes / 1024)} KB`;
}
