import { and, eq, gt, lte } from "drizzle-orm";
import { z } from "zod";
import { recordId } from "./inputs";
import { hashPassword } from "../auth/password";
import { sessionIdOf } from "../auth/session-tokens";
import { newId, randomBase32 } from "../db/ids";
import { passwordResets, sessions, users } from "../db/schema";
import { PASSWORDS_DIFFER, passwordSchema, startSession, type AccountDeps, type SignedIn } from "./accounts";
import { ServiceError } from "./errors";

/**
 * A forgotten password is no longer the end of an account: an admin (or, for a lost admin
 * password, `npm run users:reset-password`) makes a one-time link, valid 24 hours, with which
 * the person chooses a new password. Using it ends every session and bearer token they had.
 */

export const RESET_LINK_HOURS = 24;

export const resetTokenInput = z.object({ token: z.string().trim().min(1, "Open the reset link you were given.").max(200) });

export const resetPasswordInput = resetTokenInput
  .extend({ password: passwordSchema, confirmPassword: z.string({ error: "Type the password again." }) })
  .refine((input) => input.password === input.confirmPassword, PASSWORDS_DIFFER);

export const resetLinkInput = z.object({ userId: recordId });

/**
 * A new link for a person, replacing any earlier one. The token is shown this once.
 * `actorId`: the admin making it (null from the command line).
 */
export function createResetLink({ db }: Pick<AccountDeps, "db">, actorId: string | null, { userId }: z.infer<typeof resetLinkInput>) {
  const user = db
    .select({ id: users.id, username: users.username, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!user) throw new ServiceError("NOT_FOUND", "That account does not exist.");
  if (user.disabledAt) throw new ServiceError("BAD_REQUEST", "This account is disabled: enable it first, then make a reset link.");
  const token = randomBase32(32);
  const expiresAt = new Date(Date.now() + RESET_LINK_HOURS * 3_600_000);
  db.transaction((tx) => {
    tx.delete(passwordResets).where(eq(passwordResets.userId, user.id)).run();
    tx.insert(passwordResets)
      .values({ id: newId(), userId: user.id, tokenHash: sessionIdOf(token), createdBy: actorId, expiresAt })
      .run();
  });
  return { username: user.username, token, path: `/reset?token=${token}`, expiresAt: expiresAt.toISOString() };
}

/** Expired links are of no use to anyone: the hourly sweep removes them. */
export function deleteExpiredResetLinks(db: AccountDeps["db"]): void {
  db.delete(passwordResets).where(lte(passwordResets.expiresAt, new Date())).run();
}

/** Whose link it is, while it can still be used. */
export function resetLinkOwner(
  { db }: Pick<AccountDeps, "db">,
  { token }: z.infer<typeof resetTokenInput>,
): { username: string; expiresAt: string } {
  const found = db
    .select({ username: users.username, expiresAt: passwordResets.expiresAt, disabledAt: users.disabledAt })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.userId))
    .where(and(eq(passwordResets.tokenHash, sessionIdOf(token)), gt(passwordResets.expiresAt, new Date())))
    .get();
  if (!found) throw invalidLink();
  if (found.disabledAt) throw new ServiceError("FORBIDDEN", "This account is disabled. Ask an admin to enable it.");
  return { username: found.username, expiresAt: found.expiresAt.toISOString() };
}

/**
 * Sets the new password, spends the link, ends every session (so every bearer token too) and
 * open stream of the account, then signs the person in afresh.
 */
export async function resetPassword(
  deps: Pick<AccountDeps, "db" | "auth" | "limits" | "streams">,
  client: { ip: string },
  input: z.infer<typeof resetPasswordInput>,
): Promise<SignedIn> {
  const { db, limits, streams } = deps;
  // Guessing links is what a wrong one looks like: it counts like a failed registration.
  const attempt = await limits.attempt("registerFailuresPerIp", client.ip);
  resetLinkOwner(deps, input);
  await attempt.succeeded();
  const passwordHash = await hashPassword(input.password);
  const userId = db.transaction(
    (tx) => {
      const reset = tx
        .delete(passwordResets)
        .where(and(eq(passwordResets.tokenHash, sessionIdOf(input.token)), gt(passwordResets.expiresAt, new Date())))
        .returning({ userId: passwordResets.userId })
        .get();
      // Used a moment ago by another request.
      if (!reset) throw invalidLink();
      tx.update(users).set({ passwordHash }).where(eq(users.id, reset.userId)).run();
      tx.delete(sessions).where(eq(sessions.userId, reset.userId)).run();
      return reset.userId;
    },
    { behavior: "immediate" },
  );
  streams.endForUser(userId, { reason: "Your password was reset, so this session ended. Log in with the new password." });
  return startSession(deps, userId);
}

function invalidLink(): ServiceError {
  return new ServiceError(
    "NOT_FOUND",
    `This reset link does not work: it was used already, replaced by a newer one, or is more than ${RESET_LINK_HOURS} hours old. Ask an admin for a new one.`,
  );
}
