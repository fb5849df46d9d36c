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
import { resetLinkOwner, resetPassword, resetPasswordInput, resetTokenInput } from "../../services/password-resets";
import { createTRPCRouter, protectedProcedure, publicProcedure } from "../init";

export const authRouter = createTRPCRouter({
  register: publicProcedure.input(registerInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await register(ctx, ctx, input);
    ctx.setCookie(ctx.auth.createSessionCookie(token).serialize());
    return { user, token, expiresAt };
  }),

  /** The first admin of a fresh install, with the token of the setup link the server printed. */
  setup: publicProcedure.input(setupInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await setUpFirstAdmin(ctx, ctx, input);
    ctx.setCookie(ctx.auth.createSessionCookie(token).serialize());
    return { user, token, expiresAt };
  }),

  /** Whose reset link a token is, while it works (for the reset page). */
  resetLink: publicProcedure.input(resetTokenInput).query(({ ctx, input }) => resetLinkOwner(ctx, input)),

  /** A new password with a one-time reset link; every other session of the account ends. */
  resetPassword: publicProcedure.input(resetPasswordInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await resetPassword(ctx, ctx, input);
    ctx.setCookie(ctx.auth.createSessionCookie(token).serialize());
    return { user, token, expiresAt };
  }),

  /** Whether the instance still needs its first admin (for the login page). */
  instance: publicProcedure.query(({ ctx }) => ({ needsSetup: ctx.firstAdmin.needed() })),

  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const { user, token, expiresAt } = await login(ctx, ctx, input);
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
