import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { authenticateRequest } from "../../server/auth/request";
import { sessionIdOf, validateSessionToken } from "../../server/auth/session-tokens";
import { registrationKeys, sessions, users } from "../../server/db/schema";
import { callerFor, createKey, createUser, TEST_PASSWORD, uniqueUsername } from "../helpers/factories";
import { useTestServices } from "../helpers/suites";

const suite = useTestServices();

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

function registration(registrationKey: string, overrides: Partial<Record<string, string>> = {}) {
  return { username: uniqueUsername(), password: TEST_PASSWORD, confirmPassword: TEST_PASSWORD, registrationKey, ...overrides };
}

function keyRow(key: string) {
  return suite.services.db.select().from(registrationKeys).where(eq(registrationKeys.key, key)).get()!;
}

describe("registering with a key", () => {
  it("creates an account, signs it in and uses up the key", async () => {
    const key = createKey(suite.services);
    const { api, cookies } = await callerFor(suite.services);
    const result = await api.auth.register(registration(key, { username: "Ada.Lovelace" }));

    expect(result.user).toMatchObject({ username: "Ada.Lovelace", role: "user" });
    expect(new Date(result.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(cookies[0]).toMatch(/^teamgpt_session=.+HttpOnly.+SameSite=Lax/);
    expect(keyRow(key)).toMatchObject({ usedBy: result.user.id });

    const signedIn = await callerFor(suite.services, { userId: result.user.id });
    expect(await signedIn.api.auth.me()).toEqual(result.user);
  });

  it("stores the password hashed with argon2id, never in clear", async () => {
    const { api } = await callerFor(suite.services);
    const { user } = await api.auth.register(registration(createKey(suite.services)));
    const row = suite.services.db.select().from(users).where(eq(users.id, user.id)).get()!;
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.passwordHash).not.toContain(TEST_PASSWORD);
  });

  it("a key works once, even when twenty people race for it", async () => {
    const key = createKey(suite.services);
    const { api } = await callerFor(suite.services);
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => api.auth.register(registration(key))));

    const winners = attempts.filter((attempt) => attempt.status === "fulfilled");
    const losers = attempts.filter((attempt) => attempt.status === "rejected");
    expect(winners).toHaveLength(1);
    for (const loser of losers) expect((loser.reason as TRPCError).code).toBe("CONFLICT");
    expect(suite.services.db.select().from(users).all()).toHaveLength(1);
  });

  it("a registration that fails for another reason leaves the key unused", async () => {
    const key = createKey(suite.services);
    const taken = await createUser(suite.services, { username: "grace" });
    const { api } = await callerFor(suite.services);

    const error = await rejection(api.auth.register(registration(key, { username: "GRACE" })));
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toBe("That username is taken. Choose another one.");
    expect(keyRow(key).usedAt).toBeNull();

    const mismatch = await rejection(api.auth.register(registration(key, { confirmPassword: "something else" })));
    expect(mismatch.code).toBe("BAD_REQUEST");
    expect(keyRow(key).usedAt).toBeNull();

    const { user } = await api.auth.register(registration(key));
    expect(user.id).not.toBe(taken.id);
  });

  it("explains why a key cannot be used", async () => {
    const { api } = await callerFor(suite.services);
    const unknown = await rejection(api.auth.register(registration("tgk_doesnotexist000000000000")));
    expect([unknown.code, unknown.message]).toEqual([
      "BAD_REQUEST",
      "This registration key is not valid. Check it, or ask an admin for a new one.",
    ]);

    const used = createKey(suite.services);
    await api.auth.register(registration(used));
    const again = await rejection(api.auth.register(registration(used)));
    expect([again.code, again.message]).toEqual(["CONFLICT", "This registration key has already been used. Ask an admin for a new one."]);

    const expired = createKey(suite.services);
    suite.services.db
      .update(registrationKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(registrationKeys.key, expired))
      .run();
    expect((await rejection(api.auth.register(registration(expired)))).message).toContain("has expired");

    const revoked = createKey(suite.services);
    suite.services.db.update(registrationKeys).set({ revokedAt: new Date() }).where(eq(registrationKeys.key, revoked)).run();
    expect((await rejection(api.auth.register(registration(revoked)))).message).toContain("has been revoked");
  });

  it("checks usernames and passwords with messages a person can act on", async () => {
    const { api } = await callerFor(suite.services);
    const key = createKey(suite.services);
    const cases: [Partial<Record<string, string>>, string, string][] = [
      [{ username: "ab" }, "username", "Use at least 3 characters."],
      [{ username: "a".repeat(33) }, "username", "Use at most 32 characters."],
      [{ username: "no spaces" }, "username", "Use only letters, digits, and _ . -"],
      [{ password: "short", confirmPassword: "short" }, "password", "Use at least 8 characters."],
      [{ password: "x".repeat(257), confirmPassword: "x".repeat(257) }, "password", "Use at most 256 characters."],
      [{ confirmPassword: "different!" }, "confirmPassword", "The passwords do not match."],
      [{ registrationKey: "  " }, "registrationKey", "Enter your registration key."],
    ];
    for (const [overrides, field, message] of cases) {
      const error = await rejection(api.auth.register(registration(key, overrides)));
      expect(error.code).toBe("BAD_REQUEST");
      const issues = (error.cause as unknown as { issues: { path: string[]; message: string }[] }).issues;
      expect(issues).toContainEqual(expect.objectContaining({ path: [field], message }));
    }
    expect(keyRow(key).usedAt).toBeNull();
  });
});

describe("logging in", () => {
  it("works with any letter case of the username and returns a usable token", async () => {
    const user = await createUser(suite.services, { username: "Linus" });
    const { api, cookies } = await callerFor(suite.services);
    const result = await api.auth.login({ username: "linus", password: TEST_PASSWORD });
    expect(result.user).toEqual(user);
    expect(cookies).toHaveLength(1);
    const { session } = await validateSessionToken(suite.services.auth, result.token);
    expect(session?.userId).toBe(user.id);
  });

  it("answers the same for an unknown user and a wrong password, in about the same time", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services);
    const attempt = async (username: string) => {
      const started = performance.now();
      const error = await rejection(api.auth.login({ username, password: "not the password" }));
      return { error, ms: performance.now() - started };
    };
    await attempt(user.username); // warm up argon2

    const wrongPassword = [];
    const unknownUser = [];
    for (let i = 0; i < 5; i++) {
      wrongPassword.push(await attempt(user.username));
      unknownUser.push(await attempt(`nobody_${i}`));
    }
    for (const { error } of [...wrongPassword, ...unknownUser]) {
      expect([error.code, error.message]).toEqual(["UNAUTHORIZED", "Wrong username or password."]);
    }
    // Without the dummy hash, an unknown user answers ~100x faster than a wrong password.
    const median = (runs: { ms: number }[]) => runs.map((run) => run.ms).sort((a, b) => a - b)[2]!;
    expect(median(unknownUser)).toBeGreaterThan(median(wrongPassword) * 0.4);
  });

  it("refuses a disabled account, but only after the right password", async () => {
    const user = await createUser(suite.services);
    suite.services.db.update(users).set({ disabledAt: new Date() }).where(eq(users.id, user.id)).run();
    const { api } = await callerFor(suite.services);
    expect((await rejection(api.auth.login({ username: user.username, password: "wrong password" }))).code).toBe("UNAUTHORIZED");
    expect((await rejection(api.auth.login({ username: user.username, password: TEST_PASSWORD }))).code).toBe("FORBIDDEN");
  });
});

describe("sessions", () => {
  it("one person holds at most 50: logging in once more ends the one used least lately", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services);
    const tokens: string[] = [];
    for (let i = 0; i < 52; i++) tokens.push((await api.auth.login({ username: user.username, password: TEST_PASSWORD })).token);
    expect(suite.services.db.select().from(sessions).where(eq(sessions.userId, user.id)).all()).toHaveLength(50);
    expect((await authenticateRequest(suite.services.auth, { authorization: `Bearer ${tokens.at(-1)}` })).user?.id).toBe(user.id);
    // Logins racing each other, all expiring in the same second: each keeps the session it made.
    const racing = await Promise.all(Array.from({ length: 8 }, () => api.auth.login({ username: user.username, password: TEST_PASSWORD })));
    for (const { token } of racing) expect(token).toBeTruthy();
  });

  it("are stored under a hash of their token: a copy of the database lets nobody in", async () => {
    const user = await createUser(suite.services);
    const { token } = await (await callerFor(suite.services)).api.auth.login({ username: user.username, password: TEST_PASSWORD });
    const stored = suite.services.db.select().from(sessions).where(eq(sessions.userId, user.id)).all();
    expect(stored.map((row) => row.id)).toEqual([sessionIdOf(token)]);
    expect(JSON.stringify(suite.services.db.select().from(sessions).all())).not.toContain(token);
    expect((await authenticateRequest(suite.services.auth, { authorization: `Bearer ${token}` })).user?.id).toBe(user.id);
    expect(await authenticateRequest(suite.services.auth, { authorization: `Bearer ${stored[0]!.id}` })).toMatchObject({ user: null });
    expect(await authenticateRequest(suite.services.auth, { cookie: `teamgpt_session=${stored[0]!.id}` })).toMatchObject({ user: null });
  });

  it("logout invalidates the session", async () => {
    const user = await createUser(suite.services);
    const { api, cookies } = await callerFor(suite.services, { userId: user.id, credential: "cookie" });
    const [session] = suite.services.db.select().from(sessions).where(eq(sessions.userId, user.id)).all();
    expect(await api.auth.logout()).toEqual({ ok: true });
    expect(cookies[0]).toMatch(/^teamgpt_session=;.*Max-Age=0/);
    expect(await suite.services.auth.validateSession(session!.id)).toEqual({ session: null, user: null });
  });

  it("refresh extends the current session", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const [session] = suite.services.db.select().from(sessions).where(eq(sessions.userId, user.id)).all();
    suite.services.db
      .update(sessions)
      .set({ expiresAt: Math.floor(Date.now() / 1000) + 60 })
      .run();

    const refreshed = await api.auth.refresh();
    expect(sessionIdOf(refreshed.token)).toBe(session!.id);
    const thirtyDays = 30 * 86_400_000;
    expect(new Date(refreshed.expiresAt).getTime()).toBeGreaterThan(Date.now() + thirtyDays - 60_000);
    const stored = suite.services.db.select().from(sessions).where(eq(sessions.id, session!.id)).get()!;
    expect(stored.expiresAt * 1000).toBeGreaterThan(Date.now() + thirtyDays - 60_000);
  });

  it("changing the password needs the current one and ends every other session", async () => {
    const user = await createUser(suite.services);
    const here = await callerFor(suite.services, { userId: user.id, credential: "cookie" });
    await callerFor(suite.services, { userId: user.id }); // signed in on another device too
    const all = () => suite.services.db.select().from(sessions).where(eq(sessions.userId, user.id)).all();
    expect(all()).toHaveLength(2);

    const wrong = await rejection(
      here.api.auth.changePassword({ currentPassword: "nope", newPassword: "a new password", confirmPassword: "a new password" }),
    );
    expect([wrong.code, wrong.message]).toEqual(["BAD_REQUEST", "That is not your current password."]);
    expect(
      await here.api.auth.changePassword({
        currentPassword: TEST_PASSWORD,
        newPassword: "a new password",
        confirmPassword: "a new password",
      }),
    ).toEqual({ ok: true });
    const remaining = all();
    expect(remaining).toHaveLength(1);
    expect((await suite.services.auth.validateSession(remaining[0]!.id)).user?.id).toBe(user.id);
    const anonymous = (await callerFor(suite.services)).api;
    await expect(anonymous.auth.login({ username: user.username, password: TEST_PASSWORD })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    await expect(anonymous.auth.login({ username: user.username, password: "a new password" })).resolves.toBeDefined();
  });

  it("me answers who is logged in, and UNAUTHORIZED for nobody", async () => {
    const user = await createUser(suite.services, { role: "admin" });
    expect(await (await callerFor(suite.services, { userId: user.id })).api.auth.me()).toEqual(user);
    expect((await rejection((await callerFor(suite.services)).api.auth.me())).code).toBe("UNAUTHORIZED");
  });

  it("a cookie request from another site cannot change anything; a bearer one can", async () => {
    const user = await createUser(suite.services);
    const viaCookie = await callerFor(suite.services, { userId: user.id, credential: "cookie", crossSite: true });
    expect((await rejection(viaCookie.api.auth.refresh())).code).toBe("FORBIDDEN");
    expect(await viaCookie.api.auth.me()).toEqual(user); // reading is harmless: the browser hides the answer
    const viaBearer = await callerFor(suite.services, { userId: user.id, credential: "bearer", crossSite: true });
    expect(await viaBearer.api.auth.refresh()).toMatchObject({ token: expect.any(String) });
  });
});
