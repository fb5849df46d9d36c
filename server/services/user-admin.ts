import { and, asc, count, eq, isNull, ne } from "drizzle-orm";
import { z } from "zod";
import { recordId } from "./inputs";
import type { Db, Queryable } from "../db/client";
import { passwordResets, sessions, userRoles, users, type UserRow } from "../db/schema";
import { ServiceError } from "./errors";
import type { GenerationRegistry } from "./generation-registry";
import type { OpenStreams } from "./open-streams";

export const setDisabledInput = z.object({ userId: recordId, disabled: z.boolean() });
export const setRoleInput = z.object({ userId: recordId, role: z.enum(userRoles) });

/** An account as admins see it. */
export interface AccountSummary {
  id: string;
  username: string;
  role: UserRow["role"];
  createdAt: string;
  disabledAt: string | null;
}

function toSummary(row: UserRow): AccountSummary {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    disabledAt: row.disabledAt?.toISOString() ?? null,
  };
}

export function listUsers({ db }: { db: Db }): AccountSummary[] {
  return db.select().from(users).orderBy(asc(users.usernameKey)).all().map(toSummary);
}

function requireAccount(db: Db, userId: string): UserRow {
  const row = db.select().from(users).where(eq(users.id, userId)).get();
  if (!row) throw new ServiceError("NOT_FOUND", "That account does not exist.");
  return row;
}

/**
 * Disabling ends every session of the account at once (cookies and bearer tokens alike, since
 * both are sessions), closes its open streams and stops its running replies; the account
 * cannot log in until enabled again.
 */
export function setDisabled(
  { db, streams, generations }: { db: Db; streams: OpenStreams; generations: GenerationRegistry },
  actorId: string,
  input: z.infer<typeof setDisabledInput>,
): AccountSummary {
  const target = requireAccount(db, input.userId);
  if (input.disabled && target.id === actorId) throw new ServiceError("BAD_REQUEST", "You cannot disable your own account.");
  const updated = db.transaction((tx) => {
    const [row] = tx
      .update(users)
      .set({ disabledAt: input.disabled ? (target.disabledAt ?? new Date()) : null })
      .where(eq(users.id, target.id))
      .returning()
      .all();
    if (input.disabled) {
      tx.delete(sessions).where(eq(sessions.userId, target.id)).run();
      tx.delete(passwordResets).where(eq(passwordResets.userId, target.id)).run();
    }
    if (input.disabled && target.role === "admin") requireAnotherActiveAdmin(tx, target.id);
    return row!;
  });
  if (input.disabled) {
    streams.endForUser(target.id, { reason: "Your account was disabled. Ask an admin to enable it." });
    void generations.stopAllFor(target.id);
  }
  return toSummary(updated);
}

export function setRole({ db }: { db: Db }, input: z.infer<typeof setRoleInput>): AccountSummary {
  const target = requireAccount(db, input.userId);
  const updated = db.transaction((tx) => {
    if (target.role === "admin" && input.role === "user") requireAnotherActiveAdmin(tx, target.id);
    const [row] = tx.update(users).set({ role: input.role }).where(eq(users.id, target.id)).returning().all();
    return row!;
  });
  return toSummary(updated);
}

/** TeamGPT always keeps one enabled admin, or nobody could hand out keys again. */
function requireAnotherActiveAdmin(db: Queryable, exceptId: string): void {
  const [others] = db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, "admin"), isNull(users.disabledAt), ne(users.id, exceptId)))
    .all();
  if (!others || others.n === 0)
    throw new ServiceError("CONFLICT", "TeamGPT needs at least one enabled admin. Make someone else admin first.");
}
