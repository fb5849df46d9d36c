import type { NextFunction, Request, Response } from "express";
import type { RequestAuth } from "../auth/request";
import { requestLocals } from "./auth-middleware";

/**
 * Request bodies are read into memory (tRPC's JSON, Remix's forms) before anything looks at
 * them. 250 sockets that each sent 4 MB of a body and then stalled, with no login, took the
 * server from 121 MB to 1.1 GB. So a body may be only as large as its sender needs (a login is
 * tiny; refused from its headers), and the bodies being received at once may hold only so much
 * memory, per network and in all. The budget counts bytes as they arrive, not what the headers
 * promise (reserving the promise let 1,024 idle connections block every POST), and gets them
 * back once a body is complete: it bounds bodies in transit, the ones a slow sender can hold.
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

export type BodyRefusal = { status: 411 | 413; message: string } | { status: 429 | 503; message: string };

/** Bytes of request bodies held in memory right now, per network and in all. */
export class BodyBudget {
  private inFlight = 0;
  private readonly perClient = new Map<string, number>();

  /** Takes `bytes` more for `client`; a refusal when that would pass a limit. */
  take(client: string, bytes: number): BodyRefusal | null {
    const mine = this.perClient.get(client) ?? 0;
    if (mine + bytes > PER_CLIENT_BYTES) {
      return { status: 429, message: "The server is receiving too much from your network at once. Try again in a moment." };
    }
    if (this.inFlight + bytes > TOTAL_BYTES) {
      return { status: 503, message: "The server is receiving too much at once. Try again in a moment." };
    }
    this.inFlight += bytes;
    this.perClient.set(client, mine + bytes);
    return null;
  }

  give(client: string, bytes: number): void {
    this.inFlight -= bytes;
    const left = (this.perClient.get(client) ?? bytes) - bytes;
    if (left > 0) this.perClient.set(client, left);
    else this.perClient.delete(client);
  }
}

/**
 * Refuses a body larger than its sender may send, from its headers (413), and a form without
 * a length (411: Remix reads a form whole, however long). Sets `res.locals.bodyLimit` for the
 * API's reader, which enforces it on bodies sent without a length.
 */
export function limitBodies(options: { requireLength: boolean }, refuse: (res: Response, refusal: BodyRefusal) => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return next();
    const limit = bodyLimitFor(requestLocals(res).auth);
    res.locals.bodyLimit = limit;
    const header = req.headers["content-length"];
    if (header === undefined) {
      if (options.requireLength && req.headers["transfer-encoding"])
        return refuse(res, { status: 411, message: "Send the form with a Content-Length." });
      return next();
    }
    const declared = Number(header);
    if (!(declared >= 0)) return refuse(res, { status: 411, message: "Send the request with a valid Content-Length." });
    if (declared > limit) return refuse(res, { status: 413, message: `The request is too large (at most ${describeBytes(limit)}).` });
    next();
  };
}

/**
 * Counts a form's body against the budget as it arrives, without reading it (Remix does): each
 * chunk the HTTP parser hands the request is taken from the budget, and given back when the body
 * is complete or the exchange ends. A body past the budget has its connection cut: 150 stalled
 * 2 MB forms from one signed-in person held 250 MB. Only the bytes that came before this runs
 * (one socket read at most) are counted late.
 */
export function budgetFormBodies(budget: BodyBudget, client: (req: Request) => string) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return next();
    const sender = client(req);
    let held = 0;
    let settled = false;
    const giveBack = () => {
      if (settled) return;
      settled = true;
      budget.give(sender, held);
    };
    const take = (bytes: number): boolean => {
      if (settled || bytes === 0) return true;
      if (budget.take(sender, bytes)) return false;
      held += bytes;
      return true;
    };
    if (!take(req.readableLength)) {
      req.socket.destroy();
      return;
    }
    const push = req.push.bind(req);
    req.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
      if (chunk === null) giveBack();
      else if (!take(chunk.length)) {
        giveBack();
        req.socket.destroy();
        return false;
      }
      return push(chunk, encoding);
    };
    res.once("close", giveBack);
    next();
  };
}

export function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MB` : `${Math.round(bytes / 1024)} KB`;
}
