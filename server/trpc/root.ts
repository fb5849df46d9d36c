import { createCallerFactory, createTRPCRouter } from "./init";
import { adminRouter } from "./routers/admin";
import { authRouter } from "./routers/auth";
import { chatRouter } from "./routers/chat";
import { conversationsRouter } from "./routers/conversations";
import { modelsRouter } from "./routers/models";

export const appRouter = createTRPCRouter({
  auth: authRouter,
  conversations: conversationsRouter,
  chat: chatRouter,
  models: modelsRouter,
  admin: adminRouter,
});

/** The type other TypeScript programs import to get a fully typed client. */
export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
export type Caller = ReturnType<typeof createCaller>;
