import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { validateSessionToken } from "../../server/auth/session-tokens";
import { sessions } from "../../server/db/schema";
import { callerFor, createUser, TEST_PASSWORD } from "../helpers/factories";
import { useTestServices } from "../helpers/suites";

const suite = useTestServices();

async function asAdmin() {
  const admin = await createUser(suite.services, { role: "admin", username: "boss" });
  return { admin, api: (await callerFor(suite.services, { userId: admin.id })).api };
}

describe("admins manage accounts", () => {
  it("list every account with its role and state", async () => {
    const { api } = await asAdmin();
    await createUser(suite.services, { username: "alice" });
    expect((await api.admin.users.list()).items.map((user) => [user.username, user.role, user.disabledAt])).toEqual([
      ["alice", "user", null],
      ["boss", "admin", null],
    ]);
  });

  it("disabling ends every session at once, bearer tokens too, and blocks login until enabled", async () => {
    const { api } = await asAdmin();
    const alice = await createUser(suite.services, { username: "alice" });
    const anonymous = (await callerFor(suite.services)).api;
    const { token } = await anonymous.auth.login({ username: "alice", password: TEST_PASSWORD });
    await callerFor(suite.services, { userId: alice.id, credential: "cookie" });

    const disabled = await api.admin.users.setDisabled({ userId: alice.id, disabled: true });
    expect(disabled.disabledAt).not.toBeNull();
    expect(suite.services.db.select().from(sessions).where(eq(sessions.userId, alice.id)).all()).toEqual([]);
    expect((await validateSessionToken(suite.services.auth, token)).session).toBeNull();
    await expect(anonymous.auth.login({ username: "alice", password: TEST_PASSWORD })).rejects.toMatchObject({ code: "FORBIDDEN" });

    await api.admin.users.setDisabled({ userId: alice.id, disabled: false });
    await expect(anonymous.auth.login({ username: "alice", password: TEST_PASSWORD })).resolves.toMatchObject({
      user: { username: "alice" },
    });
  });

  it("make someone admin and back, but never leave TeamGPT without an enabled admin", async () => {
    const { admin, api } = await asAdmin();
    const alice = await createUser(suite.services, { username: "alice" });
    await expect(api.admin.users.setDisabled({ userId: admin.id, disabled: true })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(api.admin.users.setRole({ userId: admin.id, role: "user" })).rejects.toMatchObject({ code: "CONFLICT" });

    expect(await api.admin.users.setRole({ userId: alice.id, role: "admin" })).toMatchObject({ role: "admin" });
    const aliceApi = (await callerFor(suite.services, { userId: alice.id })).api;
    expect((await aliceApi.admin.keys.list({})).items).toEqual([]);
    expect(await aliceApi.admin.users.setRole({ userId: admin.id, role: "user" })).toMatchObject({ role: "user" });
    await expect(aliceApi.admin.users.setRole({ userId: alice.id, role: "user" })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(api.admin.users.setRole({ userId: "nobody", role: "admin" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
