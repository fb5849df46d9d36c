import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { registrationKeys } from "../../server/db/schema";
import { appRouter } from "../../server/trpc/root";
import { callerFor, createKey, createUser, TEST_PASSWORD, uniqueUsername } from "../helpers/factories";
import { useTestServices } from "../helpers/suites";

const suite = useTestServices();

async function adminApi() {
  const admin = await createUser(suite.services, { role: "admin" });
  return { admin, api: (await callerFor(suite.services, { userId: admin.id })).api };
}

describe("admins hand out registration keys", () => {
  it("generates easy-to-copy keys with a note and an expiry, and lists them newest first", async () => {
    const { api } = await adminApi();
    const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const { keys } = await api.admin.keys.generate({ count: 3, note: "design team", expiresAt });
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      expect(key).toMatchObject({ status: "unused", note: "design team", expiresAt, usedBy: null, revokedAt: null });
    }
    const later = await api.admin.keys.generate({});
    expect(later.keys).toHaveLength(1);

    const { items } = await api.admin.keys.list({});
    expect(items[0]!.key).toBe(later.keys[0]!.key);
    expect(new Set(items.map((item) => item.key))).toEqual(new Set([...keys, ...later.keys].map((key) => key.key)));
  });

  it("refuses counts outside 1 to 1000 and expiries in the past", async () => {
    const { api } = await adminApi();
    for (const input of [{ count: 0 }, { count: 1001 }, { count: 1.5 }, { expiresAt: "2001-01-01T00:00:00Z" }, { expiresAt: "tomorrow" }]) {
      await expect(api.admin.keys.generate(input)).rejects.toMatchObject({ code: "BAD_REQUEST" });
    }
    expect((await api.admin.keys.generate({ count: 1000 })).keys).toHaveLength(1000);
  });

  it("shows each key's status and who used it, and filters by status", async () => {
    const { api } = await adminApi();
    const [used, revoked, expired, unused] = (await api.admin.keys.generate({ count: 4 })).keys;
    const anonymous = (await callerFor(suite.services)).api;
    const username = uniqueUsername();
    const { user } = await anonymous.auth.register({
      username,
      password: TEST_PASSWORD,
      confirmPassword: TEST_PASSWORD,
      registrationKey: used!.key,
    });
    await api.admin.keys.revoke({ id: revoked!.id });
    suite.services.db
      .update(registrationKeys)
      .set({ expiresAt: new Date(Date.now() - 1) })
      .where(eq(registrationKeys.id, expired!.id))
      .run();

    const byId = new Map((await api.admin.keys.list({})).items.map((item) => [item.id, item]));
    expect(byId.get(used!.id)).toMatchObject({ status: "used", usedBy: { id: user.id, username }, usedAt: expect.any(String) });
    expect(byId.get(revoked!.id)).toMatchObject({ status: "revoked", revokedAt: expect.any(String) });
    expect(byId.get(expired!.id)).toMatchObject({ status: "expired" });
    expect(byId.get(unused!.id)).toMatchObject({ status: "unused" });

    for (const [status, key] of [
      ["used", used],
      ["revoked", revoked],
      ["expired", expired],
      ["unused", unused],
    ] as const) {
      expect((await api.admin.keys.list({ status })).items.map((item) => item.id)).toEqual([key!.id]);
    }
  });

  it("lists a bulk load a page at a time, newest first, with the count and the next page's cursor", async () => {
    const { api } = await adminApi();
    await api.admin.keys.generate({ count: 130, note: "first batch" });
    const latest = await api.admin.keys.generate({ count: 120, note: "second batch" });
    const everything = await api.admin.keys.list({});
    expect(everything).toMatchObject({ total: 250, nextCursor: null });

    const pages = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof api.admin.keys.list>> = await api.admin.keys.list({ limit: 100, cursor });
      expect(page.total).toBe(250);
      pages.push(page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages.map((page) => page.length)).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(everything.items.map((item) => item.id));
    // The newer batch first, across the page boundary.
    expect(new Set(pages.flat().slice(0, 120))).toEqual(new Set(latest.keys.map((key) => key.id)));

    await api.admin.keys.revoke({ id: latest.keys[0]!.id });
    const unused = await api.admin.keys.list({ status: "unused", limit: 10 });
    expect([unused.total, unused.items.length, unused.items.every((item) => item.status === "unused")]).toEqual([249, 10, true]);
    expect(await api.admin.keys.list({ status: "revoked", limit: 10 })).toMatchObject({ total: 1, nextCursor: null });

    await expect(api.admin.keys.list({ limit: 100, cursor: "not-a-cursor" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "That page cursor is not valid; start from the first page.",
    });
    await expect(api.admin.keys.list({ limit: 501 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("revokes an unused key so nobody can register with it; a used key cannot be revoked", async () => {
    const { api } = await adminApi();
    const key = createKey(suite.services);
    const [row] = (await api.admin.keys.list({})).items;
    expect(await api.admin.keys.revoke({ id: row!.id })).toMatchObject({ status: "revoked" });
    expect(await api.admin.keys.revoke({ id: row!.id })).toMatchObject({ status: "revoked" });
    const anonymous = (await callerFor(suite.services)).api;
    await expect(
      anonymous.auth.register({
        username: uniqueUsername(),
        password: TEST_PASSWORD,
        confirmPassword: TEST_PASSWORD,
        registrationKey: key,
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });

    const usedKey = createKey(suite.services);
    await anonymous.auth.register({
      username: uniqueUsername(),
      password: TEST_PASSWORD,
      confirmPassword: TEST_PASSWORD,
      registrationKey: usedKey,
    });
    const used = (await api.admin.keys.list({ status: "used" })).items[0]!;
    await expect(api.admin.keys.revoke({ id: used.id })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(api.admin.keys.revoke({ id: "no-such-key" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("loading a keys file", () => {
  it("adds new keys and counts the known and repeated ones as duplicates", async () => {
    const { api } = await adminApi();
    const known = createKey(suite.services);
    const result = await api.admin.keys.load({ text: `# batch 1\nnew-key-0001\n\n  new-key-0002 \nnew-key-0001\n${known}\n` });
    expect(result).toEqual({ added: 2, duplicates: 2, invalid: [], invalidCount: 0 });
    const keys = (await api.admin.keys.list({ status: "unused" })).items.map((item) => item.key);
    expect(keys).toEqual(expect.arrayContaining(["new-key-0001", "new-key-0002", known]));

    const anonymous = (await callerFor(suite.services)).api;
    const { user } = await anonymous.auth.register({
      username: "loaded",
      password: TEST_PASSWORD,
      confirmPassword: TEST_PASSWORD,
      registrationKey: "new-key-0002",
    });
    expect(user.username).toBe("loaded");
  });

  it("adds nothing when any line is malformed, and says which lines", async () => {
    const { api } = await adminApi();
    const result = await api.admin.keys.load({ text: "good-key-0001\nbad key\ngood-key-0002\nsh\n" });
    expect(result.added).toBe(0);
    expect(result.invalid.map((problem) => problem.line)).toEqual([2, 4]);
    expect((await api.admin.keys.list({})).items).toEqual([]);
  });
});

describe("only admins manage keys and accounts", () => {
  const adminProcedures = Object.keys(appRouter._def.procedures).filter((path) => path.startsWith("admin."));
  const inputs: Record<string, unknown> = {
    "admin.keys.list": {},
    "admin.keys.generate": { count: 1 },
    "admin.keys.load": { text: "some-key-0001" },
    "admin.keys.revoke": { id: "anything" },
    "admin.users.list": undefined,
    "admin.users.setDisabled": { userId: "anything", disabled: true },
    "admin.users.setRole": { userId: "anything", role: "admin" },
    "admin.models.status": undefined,
    "admin.connections.list": undefined,
    "admin.connections.test": { id: "environment" },
    "admin.users.resetLink": { userId: "anything" },
  };

  it("knows an input for every admin procedure", () => {
    expect(adminProcedures.sort()).toEqual(Object.keys(inputs).sort());
  });

  it.each(Object.keys(inputs))("%s answers FORBIDDEN to a user and UNAUTHORIZED to nobody", async (path) => {
    const user = await createUser(suite.services);
    const asUser = (await callerFor(suite.services, { userId: user.id })).api;
    const asNobody = (await callerFor(suite.services)).api;
    const call = (api: typeof asUser) => {
      const [, group, name] = path.split(".") as [string, keyof typeof asUser.admin, string];
      const procedures = api.admin[group] as unknown as Record<string, (input: unknown) => Promise<unknown>>;
      return procedures[name]!(inputs[path]);
    };
    await expect(call(asUser)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(call(asNobody)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    expect(suite.services.db.select().from(registrationKeys).all()).toEqual([]);
  });
});
