import {
  changePassword,
  changePasswordInput,
  login,
  loginInput,
  logout,
  refreshSession,
  register,
  registerInput,
  setUpFirstAdmin,
  setupInput,
  toPublicUser,
} from "../../services/accounts";
import { createTRPCRouter, protectedProcedure, publicProcedure } from "../init";

export const authRouter = createTRPCRouter({
  register: publicProcedure.input(registerInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await register(ctx, input, ctx);
    ctx.setCookie(ctx.auth.createSessionCookie(token).serialize());
    return { user, token, expiresAt };
  }),

  /** The first admin of a fresh install, with the token of the setup link the server printed. */
  setup: publicProcedure.input(setupInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await setUpFirstAdmin(ctx, input, ctx);
    ctx.setCookie(ctx.auth.createSessionCookie(token).serialize());
    return { user, token, expiresAt };
  }),

  /** Whether the instance still needs its first admin (for the login page). */
  instance: publicProcedure.query(({ ctx }) => ({ needsSetup: ctx.firstAdmin.needed() })),

  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await login(ctx, input, ctx);
    ctx.setCookie(ctx.auth.createSessionCookie(token).serialize());
    return { user, token, expiresAt };
  }),

  // Logging out twice is not an error: either way the caller ends up logged out.
  logout: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.session) await logout(ctx, ctx.session.id);
    ctx.setCookie(ctx.auth.createBlankSessionCookie().serialize());
    return { ok: true as const };
  }),

  refresh: protectedProcedure.mutation(({ ctx }) => {
    const refreshed = refreshSession(ctx, ctx.session, ctx.token);
    if (ctx.credential === "cookie") ctx.setCookie(ctx.auth.createSessionCookie(ctx.token).serialize());
    return refreshed;
  }),

  changePassword: protectedProcedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    await changePassword(ctx, ctx.session, input);
    return { ok: true as const };
  }),

  me: protectedProcedure.query(({ ctx }) => toPublicUser(ctx.user)),
});
