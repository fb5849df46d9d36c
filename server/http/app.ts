import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import type { TRPCError } from "@trpc/server";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express, { type NextFunction, type Request, type Response } from "express";
import { DatabaseUnavailableError, unavailableReason } from "../db/write-gate";
import type { Logger } from "../logger";
import { paths } from "../paths";
import { createContextInner, type AppRuntime, type Context } from "../trpc/context";
import { retryAfterSeconds } from "../trpc/init";
import { appRouter } from "../trpc/root";
import { authMiddleware, requestLocals } from "./auth-middleware";
import { securityHeaders } from "./security-headers";
import { sendApiError } from "./api-errors";
import { BodyBudget, budgetFormBodies, limitBodies, type BodyRefusal } from "./body-budget";
import { readApiBody } from "./json-body";
import { createRemixContext } from "./remix-context";
import { trpcSubscriptions } from "./trpc-subscriptions";

/** Calls one batched request may carry; the typed client splits larger batches (client/index.ts). */
export const MAX_BATCH_CALLS = 20;

/**
 * Procedures that check a password (argon2, ~10 ms of a thread each): one a request, so a
 * batch of a thousand logins is one login, not a thousand.
 */
const PASSWORD_PROCEDURES = new Set(["auth.login", "auth.register", "auth.setup", "auth.resetPassword", "auth.changePassword"]);

/** One Express app: static assets, the tRPC router at /api/trpc, and the Remix pages. */
export function createHttpApp(services: AppRuntime, build: ServerBuild) {
  const app = express();
  app.disable("x-powered-by");
  // Nothing reads req.query (tRPC and Remix parse the URL themselves), and qs would parse every
  // chat.stream's message a second time.
  app.set("query parser", false);
  // Only the reverse proxies TRUST_PROXY names (none by default) may tell us the client's address,
  // host and scheme (X-Forwarded-*). Every per-network limit counts what they say.
  app.set("trust proxy", services.env.TRUST_PROXY);
  app.use(securityHeaders(services.env));
  app.use("/build", express.static(join(paths.public, "build"), { immutable: true, maxAge: "1y" }));
  const logRequest = requestLog(services.logger);
  const authenticate = authMiddleware(services);
  const bodies = new BodyBudget();

  const createContext = (req: Request, res: Response) => {
    const { auth, crossSite } = requestLocals(res);
    return createContextInner(services, {
      auth,
      crossSite,
      setCookie: (cookie) => res.append("Set-Cookie", cookie),
      ip: clientIp(req),
      requestId: String(res.locals.requestId),
    });
  };
  const logFailure = ({ error, path, ctx }: { error: TRPCError; path: string | undefined; ctx: Context | undefined }) => {
    // Queries and mutations are logged by their middleware; a subscription fails later,
    // while its events are read, and a request can fail before reaching any procedure.
    if (error.code === "INTERNAL_SERVER_ERROR") {
      services.logger.error({ err: error.cause ?? error, procedure: path, requestId: ctx?.requestId }, "tRPC request failed");
    }
  };

  app.use(
    "/api/trpc",
    logRequest,
    refuseCostlyBatches,
    authenticate,
    limitBodies({ requireLength: false }, refuseApiBody),
    readApiBody(bodies, clientIp, refuseApiBody),
    trpcSubscriptions({ createContext, onError: logFailure }),
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) => createContext(req, res),
      maxBatchSize: MAX_BATCH_CALLS,
      responseMeta: ({ errors }) => {
        const retryAfter = errors.map((error) => retryAfterSeconds(error.cause)).find(Boolean);
        return retryAfter ? { headers: new Headers({ "Retry-After": String(retryAfter) }) } : {};
      },
      onError: ({ error, path, type, ctx }) => {
        if (type === "subscription" || !path) logFailure({ error, path, ctx });
      },
    }),
  );

  // After the API, so an API call costs no file-system lookup.
  app.use(express.static(paths.public, { maxAge: "1h", index: false }));
  app.use(logRequest);
  app.use(authenticate);
  app.use(refuseCrossSiteFormPosts);
  app.use(limitBodies({ requireLength: true }, refuseFormBody));
  app.use(budgetFormBodies(bodies, clientIp));
  const remix = createRequestHandler({
    build,
    mode: services.env.NODE_ENV,
    getLoadContext: (req, res) => createRemixContext(services, res, clientIp(req), String(res.locals.requestId)),
  });
  // Express 4 does not catch a handler's rejected promise (Remix's catches its own; this is a net).
  app.all("*", (req: Request, res: Response, next: NextFunction) => void remix(req, res, next).catch(next));
  app.use(handleUnexpectedError(services.logger));
  return app;
}

/**
 * Who a request counts against for per-address limits: its IPv4 address, or its IPv6 /64 (one
 * home or office gets a whole /64, so counting single IPv6 addresses would give an attacker
 * billions of fresh ones).
 */
export function clientIp(req: Pick<Request, "ip" | "socket">): string {
  return networkOf(req.ip ?? req.socket.remoteAddress ?? "unknown");
}

export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** A batch (`/api/trpc/a,b,c?batch=1`) may hold one password check at most. */
function refuseCostlyBatches(req: Request, res: Response, next: NextFunction) {
  let names: string[];
  try {
    names = decodeURIComponent(req.path.slice(1)).split(","); // as tRPC reads it: %2C is a comma too
  } catch {
    return next(); // malformed: tRPC answers it
  }
  if (names.length < 2 || names.filter((name) => PASSWORD_PROCEDURES.has(name)).length < 2) return next();
  sendApiError(res, 400, "BAD_REQUEST", "Send one login, registration or password change a request, not several in a batch.");
}

function refuseFormBody(res: Response, refusal: BodyRefusal) {
  if (refusal.status === 429 || refusal.status === 503) res.set("Retry-After", "5");
  res.set("Connection", "close").status(refusal.status).type("text/plain").send(refusal.message);
}

function refuseApiBody(res: Response, refusal: BodyRefusal) {
  if (refusal.status === 429 || refusal.status === 503) res.set("Retry-After", "5");
  const code = ({ 411: "BAD_REQUEST", 413: "PAYLOAD_TOO_LARGE", 429: "TOO_MANY_REQUESTS", 503: "SERVICE_UNAVAILABLE" } as const)[
    refusal.status
  ];
  res.set("Connection", "close");
  sendApiError(res, refusal.status, code, refusal.message);
}

function refuseCrossSiteFormPosts(req: Request, res: Response, next: NextFunction) {
  const { auth, crossSite } = requestLocals(res);
  if (req.method !== "GET" && req.method !== "HEAD" && crossSite && auth.credential !== "bearer") {
    res
      .status(403)
      .type("text/plain")
      .send(
        "This form was sent from another site and was refused. Open TeamGPT directly and try again. If TeamGPT runs behind a reverse proxy and this keeps happening, an admin should set PUBLIC_ORIGIN to the address in your browser's address bar (docs/deploy.md).",
      );
    return;
  }
  next();
}

function handleUnexpectedError(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const unavailable = unavailableReason(error);
    if (unavailable) {
      logger.warn({ requestId: res.locals.requestId, reason: unavailable }, "request failed: the database cannot write");
      if (res.headersSent) return res.end();
      res.status(503).type("text/plain").send(new DatabaseUnavailableError(unavailable).message);
      return;
    }
    logger.error({ err: error, requestId: res.locals.requestId }, "unhandled request error");
    if (res.headersSent) return res.end();
    res.status(500).type("text/plain").send("Something went wrong on our side. Try again in a moment.");
  };
}

/** A request id (the proxy's, when it sends a sane one) and one line per request, path without query. */
function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && /^[\w.-]{8,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader("X-Request-Id", requestId);
    const started = performance.now();
    // Taken now: routers mounted under a prefix rewrite req.path while they run.
    const path = req.originalUrl.split("?")[0];
    res.on("finish", () => {
      logger.info(
        {
          requestId,
          method: req.method,
          path,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          userId: (res.locals.auth as { user?: { id: string } | null } | undefined)?.user?.id,
        },
        "request",
      );
    });
    next();
  };
}
