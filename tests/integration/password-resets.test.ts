import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createSessionToken, validateSessionToken } from "../../server/auth/session-tokens";
import { passwordResets } from "../../server/db/schema";
import { callerFor, createUser, TEST_PASSWORD } from "../helpers/factories";
import { useTestServices } from "../helpers/suites";

const suite = useTestServices();

const NEW_PASSWORD = "a brand new password";

async function resetLinkFor(userId: string) {
  const admin = await createUser(suite.services, { role: "admin" });
  const { api } = await callerFor(suite.services, { userId: admin.id });
  return api.admin.users.resetLink({ userId });
}

async function anonymous() {
  return (await callerFor(suite.services)).api;
}

describe("password reset links", () => {
  it("an admin's link lets the person choose a new password once, signs them in, and ends every other session", async () => {
    const alice = await createUser(suite.services);
    const before = await createSessionToken(suite.services.auth, alice.id);
    const link = await resetLinkFor(alice.id);
    expect(link).toMatchObject({ username: alice.username, path: `/reset?token=${link.token}` });
    expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);

    const api = await anonymous();
    expect(await api.auth.resetLink({ token: link.token })).toMatchObject({ username: alice.username });
    const signedIn = await api.auth.resetPassword({ token: link.token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(signedIn.user.username).toBe(alice.username);

    // The session (and the bearer token that is its key) from before the reset is gone.
    expect((await validateSessionToken(suite.services.auth, before.token)).session).toBeNull();
    expect((await validateSessionToken(suite.services.auth, signedIn.token)).session).not.toBeNull();
    await expect(api.auth.login({ username: alice.username, password: TEST_PASSWORD })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(api.auth.login({ username: alice.username, password: NEW_PASSWORD })).resolves.toMatchObject({ user: { id: alice.id } });

    const again = api.auth.resetPassword({ token: link.token, password: "yet another one", confirmPassword: "yet another one" });
    await expect(again).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringMatching(/^This reset link does not work/) });
  });

  it("a new link replaces the old one", async () => {
    const bob = await createUser(suite.services);
    const first = await resetLinkFor(bob.id);
    const second = await resetLinkFor(bob.id);
    const api = await anonymous();
    await expect(api.auth.resetLink({ token: first.token })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      api.auth.resetPassword({ token: second.token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }),
    ).resolves.toBeDefined();
  });

  it("a link expires after 24 hours", async () => {
    const carol = await createUser(suite.services);
    const link = await resetLinkFor(carol.id);
    suite.services.db
      .update(passwordResets)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(passwordResets.userId, carol.id))
      .run();
    const api = await anonymous();
    await expect(api.auth.resetLink({ token: link.token })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      api.auth.resetPassword({ token: link.token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("only the token's hash is stored, and a made-up token opens nothing", async () => {
    const dave = await createUser(suite.services);
    const link = await resetLinkFor(dave.id);
    const stored = suite.services.db.select().from(passwordResets).all();
    expect(JSON.stringify(stored)).not.toContain(link.token);
    const api = await anonymous();
    await expect(api.auth.resetLink({ token: "0".repeat(32) })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("only admins make links", async () => {
    const eve = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: eve.id });
    await expect(api.admin.users.resetLink({ userId: eve.id })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("a link dies when the password is changed or the account disabled, and a disabled account gets none", async () => {
    const frank = await createUser(suite.services);
    const link = await resetLinkFor(frank.id);
    const { api: asFrank } = await callerFor(suite.services, { userId: frank.id });
    await asFrank.auth.changePassword({ currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    const api = await anonymous();
    await expect(api.auth.resetLink({ token: link.token })).rejects.toMatchObject({ code: "NOT_FOUND" });

    const grace = await createUser(suite.services);
    const second = await resetLinkFor(grace.id);
    const admin = await createUser(suite.services, { role: "admin" });
    const { api: asAdmin } = await callerFor(suite.services, { userId: admin.id });
    await asAdmin.admin.users.setDisabled({ userId: grace.id, disabled: true });
    await expect(api.auth.resetLink({ token: second.token })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(asAdmin.admin.users.resetLink({ userId: grace.id })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("a login that checked the old password while a reset committed gets no session", async () => {
    const henry = await createUser(suite.services);
    const link = await resetLinkFor(henry.id);
    const api = await anonymous();
    // The login's password check (argon2, ~50 ms) is under way when the reset lands.
    const login = api.auth.login({ username: henry.username, password: TEST_PASSWORD });
    await api.auth.resetPassword({ token: link.token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    const outcome = await login.then(
      (signedIn) => signedIn.token,
      () => null,
    );
    if (outcome) expect((await validateSessionToken(suite.services.auth, outcome)).session).toBeNull();
  });
});
