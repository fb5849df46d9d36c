import { resolve } from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express, { type NextFunction, type Request, type Response } from "express";
import { createContextInner, type AppServices } from "../trpc/context";
import { appRouter } from "../trpc/root";
import { authMiddleware, requestLocals } from "./auth-middleware";
import { createRemixContext } from "./remix-context";

const PUBLIC_DIR = resolve(import.meta.dirname, "../../public");

/** One Express app: static assets, the tRPC router at /api/trpc, and the Remix pages. */
export function createHttpApp(services: AppServices, build: ServerBuild) {
  const app = express();
  app.disable("x-powered-by");
  app.use("/build", express.static(resolve(PUBLIC_DIR, "build"), { immutable: true, maxAge: "1y" }));
  app.use(express.static(PUBLIC_DIR, { maxAge: "1h", index: false }));
  app.use(authMiddleware(services));

  app.use(
    "/api/trpc",
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ res }) => {
        const { auth, crossSite } = requestLocals(res);
        return createContextInner(services, { auth, crossSite, setCookie: (cookie) => res.append("Set-Cookie", cookie) });
      },
      onError: ({ error, path }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"} failed:`, error.cause ?? error);
      },
    }),
  );

  app.use(refuseCrossSiteFormPosts);
  app.all(
    "*",
    createRequestHandler({
      build,
      mode: services.env.NODE_ENV,
      getLoadContext: (_req, res) => createRemixContext(services, res),
    }),
  );
  app.use(handleUnexpectedError);
  return app;
}

function refuseCrossSiteFormPosts(req: Request, res: Response, next: NextFunction) {
  const { auth, crossSite } = requestLocals(res);
  if (req.method !== "GET" && req.method !== "HEAD" && crossSite && auth.credential !== "bearer") {
    res.status(403).type("text/plain").send("This form was sent from another site and was refused. Open TeamGPT directly and try again.");
    return;
  }
  next();
}

function handleUnexpectedError(error: unknown, _req: Request, res: Response, _next: NextFunction) {
  console.error("Unhandled request error:", error);
  if (res.headersSent) return res.end();
  res.status(500).type("text/plain").send("Something went wrong on our side. Try again in a moment.");
}
