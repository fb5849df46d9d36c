import { timingSafeEqual } from "node:crypto";
import { and, desc, eq, ne, notInArray } from "drizzle-orm";
import type { Session, User } from "lucia";
import { z } from "zod";
import { LIMITS } from "./inputs";
import type { Auth } from "../auth/lucia";
import { createSessionToken, validateSessionToken } from "../auth/session-tokens";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "../auth/password";
import type { Db, Queryable } from "../db/client";
import type { Env } from "../env";
import { newId, randomBase32 } from "../db/ids";
import { passwordResets, sessions, users, type UserRole, type UserRow } from "../db/schema";
import { ServiceError } from "./errors";
import type { OpenStreams } from "./open-streams";
import type { RateLimits } from "./rate-limits";
import { consumeRegistrationKey, registrationKeyInput, requireUsableKey } from "./registration-keys";

export interface AccountDeps {
  db: Db;
  auth: Auth;
  env: Pick<Env, "SESSION_DAYS">;
  limits: RateLimits;
  streams: OpenStreams;
}

export const usernameSchema = z
  .string({ error: "Enter a username." })
  .trim()
  .min(3, "Use at least 3 characters.")
  .max(LIMITS.usernameChars, `Use at most ${LIMITS.usernameChars} characters.`)
  .regex(/^[A-Za-z0-9_.-]+$/, "Use only letters, digits, and _ . -");

export const passwordSchema = z
  .string({ error: "Enter a password." })
  .min(8, "Use at least 8 characters.")
  .max(LIMITS.passwordChars, `Use at most ${LIMITS.passwordChars} characters.`);

/** A password typed twice that differs: the error is shown at the second one. */
export const PASSWORDS_DIFFER = { message: "The passwords do not match.", path: ["confirmPassword"] };

export const registerInput = z
  .object({
    username: usernameSchema,
    password: passwordSchema,
    confirmPassword: z.string({ error: "Type the password again." }),
    registrationKey: registrationKeyInput,
  })
  .refine((input) => input.password === input.confirmPassword, PASSWORDS_DIFFER);

export const loginInput = z.object({
  username: z.string({ error: "Enter your username." }).trim().min(1, "Enter your username.").max(256),
  password: z.string({ error: "Enter your password." }).min(1, "Enter your password.").max(LIMITS.passwordChars),
});

export const changePasswordInput = z
  .object({
    currentPassword: z.string({ error: "Enter your current password." }).min(1, "Enter your current password.").max(LIMITS.passwordChars),
    newPassword: passwordSchema,
    confirmPassword: z.string({ error: "Type the new password again." }),
  })
  .refine((input) => input.newPassword === input.confirmPassword, PASSWORDS_DIFFER);

/** The first admin of a fresh install, through the one-time link the server printed. */
export const setupInput = z
  .object({
    token: z.string({ error: "Open the setup link the server printed." }).trim().min(1, "Open the setup link the server printed.").max(200),
    username: usernameSchema,
    password: passwordSchema,
    confirmPassword: z.string({ error: "Type the password again." }),
  })
  .refine((input) => input.password === input.confirmPassword, PASSWORDS_DIFFER);

export type RegisterInput = z.infer<typeof registerInput>;
export type LoginInput = z.infer<typeof loginInput>;

/** The public shape of an account (docs/api.md `User`). */
export interface PublicUser {
  id: string;
  username: string;
  role: UserRole;
  createdAt: string;
}

export interface SignedIn {
  user: PublicUser;
  session: Session;
  token: string;
  expiresAt: string;
}

export function toPublicUser(user: Pick<UserRow, "id" | "username" | "role" | "createdAt"> | User): PublicUser {
  return { id: user.id, username: user.username, role: user.role, createdAt: user.createdAt.toISOString() };
}

const usernameKey = (username: string) => username.toLowerCase();

function findUserByUsername(db: Queryable, username: string): UserRow | undefined {
  return db
    .select()
    .from(users)
    .where(eq(users.usernameKey, usernameKey(username)))
    .get();
}

function usernameTaken(): ServiceError {
  return new ServiceError("CONFLICT", "That username is taken. Choose another one.", "username");
}

/**
 * Creates an account with a registration key. The key is consumed in the same immediate
 * transaction that inserts the user, so one key makes exactly one account however many
 * requests race for it, and a registration that fails leaves the key unused.
 */
export async function register(
  { db, auth, limits, streams }: Pick<AccountDeps, "db" | "auth" | "limits" | "streams">,
  client: { ip: string },
  input: RegisterInput,
): Promise<SignedIn> {
  // Only failures count: a whole team registering from one office address is not an attack.
  const attempt = await limits.attempt("registerFailuresPerIp", client.ip);
  try {
    const signedIn = await createAccount({ db, auth, streams }, input);
    await attempt.succeeded();
    return signedIn;
  } catch (error) {
    // A refusal counts; our own failure does not.
    if (!(error instanceof ServiceError) || error.code === "TOO_MANY_REQUESTS") await attempt.succeeded();
    throw error;
  }
}

async function createAccount({ db, auth, streams }: Pick<AccountDeps, "db" | "auth" | "streams">, input: RegisterInput): Promise<SignedIn> {
  // Fail fast, before the deliberately slow hash, with the reason a person can act on.
  requireUsableKey(db, input.registrationKey);
  if (findUserByUsername(db, input.username)) throw usernameTaken();

  const passwordHash = await hashPassword(input.password);
  const userId = newId();
  db.transaction(
    (tx) => {
      if (findUserByUsername(tx, input.username)) throw usernameTaken();
      tx.insert(users)
        .values({ id: userId, username: input.username, usernameKey: usernameKey(input.username), passwordHash, role: "user" })
        .run();
      consumeRegistrationKey(tx, input.registrationKey, userId);
    },
    { behavior: "immediate" },
  );
  return startSession({ auth, db, streams }, userId);
}

/**
 * A fresh install has no admin, and nobody has a registration key to register with. At start
 * the server makes a one-time setup token (in memory only, printed to its console, never shown
 * on a page), good until an admin exists, as Grafana and Gitea do for their first account.
 */
export class FirstAdminSetup {
  private token: string | null = null;

  constructor(private readonly db: Db) {}

  /** At start: a fresh token when there is no admin yet, else null. */
  open(): string | null {
    this.token = hasAdmin(this.db) ? null : randomBase32(32);
    return this.token;
  }

  /** No admin yet: /login says so, and where the setup link was printed. */
  needed(): boolean {
    return !hasAdmin(this.db);
  }

  /** Compared in constant time: the token is the only thing standing between anyone and admin. */
  accepts(token: string): boolean {
    if (!this.token || hasAdmin(this.db)) return false;
    const expected = Buffer.from(this.token);
    const given = Buffer.from(token.toLowerCase());
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  close(): void {
    this.token = null;
  }
}

function hasAdmin(db: Queryable): boolean {
  return db.select({ id: users.id }).from(users).where(eq(users.role, "admin")).limit(1).get() !== undefined;
}

/**
 * Creates the first admin through the setup link and signs them in. Two setups at once make
 * one admin: the check that none exists and the insert are one immediate transaction.
 */
export async function setUpFirstAdmin(
  { db, auth, limits, streams, firstAdmin }: Pick<AccountDeps, "db" | "auth" | "limits" | "streams"> & { firstAdmin: FirstAdminSetup },
  client: { ip: string },
  input: z.infer<typeof setupInput>,
): Promise<SignedIn> {
  const attempt = await limits.attempt("registerFailuresPerIp", client.ip);
  if (!firstAdmin.needed()) {
    await attempt.succeeded();
    throw new ServiceError("NOT_FOUND", "This TeamGPT is set up already: log in, or ask an admin for a registration key.");
  }
  if (!firstAdmin.accepts(input.token)) {
    throw new ServiceError("FORBIDDEN", "This setup link is not valid. Use the newest link the server printed when it started.", "token");
  }
  await attempt.succeeded();
  const passwordHash = await hashPassword(input.password);
  const userId = newId();
  db.transaction(
    (tx) => {
      if (hasAdmin(tx)) throw new ServiceError("NOT_FOUND", "This TeamGPT was set up a moment ago by someone else: log in.");
      if (findUserByUsername(tx, input.username)) throw usernameTaken();
      tx.insert(users)
        .values({ id: userId, username: input.username, usernameKey: usernameKey(input.username), passwordHash, role: "admin" })
        .run();
    },
    { behavior: "immediate" },
  );
  firstAdmin.close();
  return startSession({ auth, db, streams }, userId);
}

/** Same answer, and about the same time, for an unknown username and a wrong password. */
export async function login(
  { db, auth, limits, streams }: Pick<AccountDeps, "db" | "auth" | "limits" | "streams">,
  client: { ip: string },
  input: LoginInput,
): Promise<SignedIn> {
  // Only failures count, per address and per account: colleagues behind one office address
  // log in freely, password spraying and guessing do not. Each attempt takes its points before
  // the password is checked, so attempts racing each other cannot outrun the limits.
  const user = findUserByUsername(db, input.username);
  const valid = await checkPassword(limits, { ip: client.ip, accountKey: usernameKey(input.username) }, () =>
    user ? verifyPassword(user.passwordHash, input.password) : verifyAgainstDummy(input.password),
  );
  if (!user || !valid) throw new ServiceError("UNAUTHORIZED", "Wrong username or password.");
  if (user.disabledAt) throw new ServiceError("FORBIDDEN", "This account is disabled. Ask an admin to enable it.");
  const signedIn = await startSession({ auth, db, streams }, user.id);
  // The password may have changed (a reset, a change) while this one was being checked: a
  // reset ends the sessions that exist when it commits, so one made after it must not stand.
  const current = db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.id)).get();
  if (current?.passwordHash !== user.passwordHash) {
    await auth.invalidateSession(signedIn.session.id);
    throw new ServiceError("UNAUTHORIZED", "Wrong username or password.");
  }
  return signedIn;
}

/**
 * Password checks one network may have waiting or running at once: the server runs two at a
 * time and lets 100 wait (auth/password.ts), and one network must not take all of those places.
 */
const CHECKS_AT_ONCE_PER_ADDRESS = 10;
const BUSY_NETWORK = "Too many logins at once from your network. Try again in a few seconds.";
/**
 * Password checks for one account at once, from anywhere: right passwords never count as
 * failures, so without this one member of a team could keep every place in the queue busy
 * with their own logins (or password changes) from a dozen networks.
 */
const CHECKS_AT_ONCE_PER_ACCOUNT = 2;
const BUSY_ACCOUNT = "This account is already being logged in to. Try again in a few seconds.";

/**
 * Runs one password check within the limits: wrong passwords for an account from anywhere
 * and, when an address is given, failed checks from that address. A right password clears
 * the account's failures and does not count against the address.
 */
async function checkPassword(
  limits: RateLimits,
  who: { accountKey: string; ip?: string },
  check: () => Promise<boolean>,
): Promise<boolean> {
  const fromAddress = who.ip === undefined ? null : await limits.attempt("loginFailuresPerIp", who.ip);
  let forAccount;
  try {
    forAccount = await limits.attempt("loginFailuresPerUsername", who.accountKey);
  } catch (error) {
    await fromAddress?.succeeded(); // refused before any check: nothing failed
    throw error;
  }
  let valid: boolean;
  try {
    const releaseAccount = limits.hold(`passwordChecks:account:${who.accountKey}`, CHECKS_AT_ONCE_PER_ACCOUNT, BUSY_ACCOUNT);
    try {
      const releaseNetwork =
        who.ip === undefined ? () => {} : limits.hold(`passwordChecks:network:${who.ip}`, CHECKS_AT_ONCE_PER_ADDRESS, BUSY_NETWORK);
      try {
        valid = await check();
      } finally {
        releaseNetwork();
      }
    } finally {
      releaseAccount();
    }
  } catch (error) {
    // Not a wrong password (the server was too busy to check): it does not count.
    await Promise.all([fromAddress?.succeeded(), forAccount.succeeded()]);
    throw error;
  }
  if (valid) {
    await fromAddress?.succeeded();
    await limits.reset("loginFailuresPerUsername", who.accountKey);
  }
  return valid;
}

/** Ends the session and the streams it holds open. */
export async function logout({ auth, streams }: Pick<AccountDeps, "auth" | "streams">, sessionId: string): Promise<void> {
  await auth.invalidateSession(sessionId);
  streams.endForSession(sessionId, "You logged out. Log in again to follow replies.");
}

/** Pushes the session's expiry a full lifetime ahead; the token stays the same. */
export function refreshSession(
  { db, env }: Pick<AccountDeps, "db" | "env">,
  session: Session,
  token: string,
): { token: string; expiresAt: string } {
  const expiresAt = new Date(Date.now() + env.SESSION_DAYS * 86_400_000);
  db.update(sessions)
    .set({ expiresAt: Math.floor(expiresAt.getTime() / 1000) })
    .where(and(eq(sessions.id, session.id), eq(sessions.userId, session.userId)))
    .run();
  return { token, expiresAt: expiresAt.toISOString() };
}

/**
 * Changes the password and ends every other session of the account (other devices, stolen
 * tokens). A wrong current password counts as a failed login for the account: a stolen
 * session must not become a way around the login limits.
 */
export async function changePassword(
  { db, limits, streams }: Pick<AccountDeps, "db" | "limits" | "streams">,
  session: Session,
  input: z.infer<typeof changePasswordInput>,
): Promise<void> {
  const user = db.select().from(users).where(eq(users.id, session.userId)).get();
  if (!user) throw new ServiceError("UNAUTHORIZED", "You are not logged in, or your session has expired. Log in again.");
  const valid = await checkPassword(limits, { accountKey: user.usernameKey }, () =>
    verifyPassword(user.passwordHash, input.currentPassword),
  );
  if (!valid) throw new ServiceError("BAD_REQUEST", "That is not your current password.", "currentPassword");
  const passwordHash = await hashPassword(input.newPassword);
  db.transaction((tx) => {
    tx.update(users).set({ passwordHash }).where(eq(users.id, user.id)).run();
    tx.delete(sessions)
      .where(and(eq(sessions.userId, user.id), ne(sessions.id, session.id)))
      .run();
    // A reset link sent before would take the account back from its owner.
    tx.delete(passwordResets).where(eq(passwordResets.userId, user.id)).run();
  });
  streams.endForUser(user.id, {
    exceptSessionId: session.id,
    reason: "Your password was changed, so this session ended. Log in again with the new password.",
  });
}

/**
 * Sessions one person may hold; logging in once more ends those nearest their expiry (Lucia
 * extends a session used in the second half of its life). One account made 1,764 sessions in
 * 20 s, each kept for 30 days.
 */
export const MAX_SESSIONS_PER_USER = 50;

export async function startSession({ auth, db, streams }: Pick<AccountDeps, "auth" | "db" | "streams">, userId: string): Promise<SignedIn> {
  const { session, token } = await createSessionToken(auth, userId);
  for (const ended of endSessionsPast(db, userId, MAX_SESSIONS_PER_USER, session.id)) {
    streams.endForSession(ended, "This session ended: the account logged in on more devices than it may use at once. Log in again.");
  }
  const { user } = await validateSessionToken(auth, token);
  if (!user) throw new Error(`session ${session.id.slice(0, 4)}… vanished right after it was created`);
  return { user: toPublicUser(user), session, token, expiresAt: session.expiresAt.toISOString() };
}

/**
 * Keeps the new session and the `keep - 1` others used most lately (sessions are extended when
 * used, so those expiring last). The new one is named: others may expire at the same second, and
 * logins racing each other evicted the session just made (a 500 on 6–40% of such logins).
 */
function endSessionsPast(db: Db, userId: string, keep: number, newSessionId: string): string[] {
  const kept = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), ne(sessions.id, newSessionId)))
    .orderBy(desc(sessions.expiresAt))
    .limit(keep - 1);
  return db
    .delete(sessions)
    .where(and(eq(sessions.userId, userId), ne(sessions.id, newSessionId), notInArray(sessions.id, kept)))
    .returning({ id: sessions.id })
    .all()
    .map((row) => row.id);
}

export interface EnsureAdminResult {
  created: boolean;
  username: string;
  /** Only when the password was generated: shown once, never stored in clear. */
  generatedPassword?: string;
}

/** Creates the first admin; when any admin exists already it changes nothing. */
export async function ensureAdmin(db: Db, options: { username?: string; password?: string }): Promise<EnsureAdminResult> {
  const existing = db.select().from(users).where(eq(users.role, "admin")).get();
  if (existing) return { created: false, username: existing.username };

  const generatedPassword = options.password ? undefined : randomBase32(20);
  // One parse, so that a wrong username and a wrong password are both said, each by its name.
  const { username, password } = z
    .object({ username: usernameSchema, password: passwordSchema })
    .parse({ username: options.username ?? "admin", password: options.password ?? generatedPassword });
  if (findUserByUsername(db, username)) {
    throw new ServiceError("CONFLICT", `A regular user named "${username}" exists; choose another ADMIN_USERNAME.`);
  }
  db.insert(users)
    .values({ id: newId(), username, usernameKey: usernameKey(username), passwordHash: await hashPassword(password), role: "admin" })
    .run();
  return { created: true, username, ...(generatedPassword ? { generatedPassword } : {}) };
}
