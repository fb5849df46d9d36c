import { randomBytes } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Env } from "../env";

/**
 * Headers every response carries. A page's CSP allows only our own scripts (Remix's inline
 * ones by a per-request nonce), no framing, and images from elsewhere only because a person
 * clicks to load one in a message. An API response (JSON, SSE) is never rendered as a
 * document, so it gets the strictest policy and no nonce.
 */
export function securityHeaders(env: Pick<Env, "NODE_ENV" | "PUBLIC_ORIGIN">) {
  const hsts = env.NODE_ENV === "production" && !env.PUBLIC_ORIGIN?.startsWith("http://");
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader("Content-Security-Policy", req.path.startsWith("/api/") ? API_POLICY : pagePolicy(res));
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "same-origin");
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (hsts) res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    next();
  };
}

const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

function pagePolicy(res: Response): string {
  const nonce = randomBytes(16).toString("base64");
  res.locals.cspNonce = nonce;
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https: http:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
