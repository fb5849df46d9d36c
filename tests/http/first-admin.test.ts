import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { users } from "../../server/db/schema";
import { openDatabase } from "../../server/db/client";
import { ensureAdmin } from "../../server/services/accounts";
import { freshDatabaseFile } from "../helpers/db";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { CookieJar, startTestServer, type TestServer } from "../helpers/server";

/** A fresh install: no admin, nobody with a registration key, and a setup link in the console. */

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function freshServer(): Promise<TestServer & { token: string }> {
  server = await startTestServer();
  expect(server.setupLink).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/setup\?token=[0-9a-z]{32}$/);
  return Object.assign(server, { token: new URL(server.setupLink!).searchParams.get("token")! });
}

const pageText = async (response: Response) => (await response.text()).replace(/<!-- -->/g, "");

function setUp(target: TestServer, fields: Record<string, string>) {
  return fetch(`${target.url}/setup`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: target.origin },
    body: new URLSearchParams(fields).toString(),
  });
}

function setUpOverApi(target: TestServer, input: Record<string, string>) {
  return fetch(`${target.url}/api/trpc/auth.setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(input),
  });
}

const admins = (target: TestServer) => target.services.db.select().from(users).where(eq(users.role, "admin")).all();

describe("the first admin", () => {
  it("a fresh server's setup link creates the first admin and signs them in; /login says where the link is until then", async () => {
    const fresh = await freshServer();
    expect(await pageText(await fetch(`${fresh.url}/login`))).toContain("This TeamGPT is not set up yet");
    const page = await pageText(await fetch(`${fresh.url}/setup?token=${fresh.token}`));
    expect(page).toContain("Set up TeamGPT");
    expect(page).toContain(`value="${fresh.token}"`);

    const created = await setUp(fresh, { token: fresh.token, username: "boss", password: TEST_PASSWORD, confirmPassword: TEST_PASSWORD });
    expect(created.status).toBe(302);
    expect(created.headers.get("location")).toBe("/admin/keys");
    const jar = new CookieJar();
    jar.store(created);
    const keysPage = await fetch(`${fresh.url}/admin/keys`, { headers: { cookie: jar.header() } });
    expect(keysPage.status).toBe(200);
    expect(admins(fresh).map((admin) => admin.username)).toEqual(["boss"]);
    expect(await pageText(await fetch(`${fresh.url}/login`))).not.toContain("not set up yet");
  });

  it("a wrong token is refused; once an admin exists the page is gone and the token is spent", async () => {
    const fresh = await freshServer();
    const wrong = await setUp(fresh, {
      token: "x".repeat(32),
      username: "intruder",
      password: TEST_PASSWORD,
      confirmPassword: TEST_PASSWORD,
    });
    expect(wrong.status).toBe(403);
    expect(await pageText(wrong)).toContain("This setup link is not valid.");
    expect(admins(fresh)).toEqual([]);

    const input = { token: fresh.token, username: "boss", password: TEST_PASSWORD, confirmPassword: TEST_PASSWORD };
    expect((await setUpOverApi(fresh, input)).status).toBe(200);
    const reused = await setUpOverApi(fresh, { ...input, username: "second" });
    expect(reused.status).toBe(404);
    expect(await reused.text()).toContain("This TeamGPT is set up already");
    expect((await fetch(`${fresh.url}/setup?token=${fresh.token}`)).status).toBe(404);
    expect(admins(fresh).map((admin) => admin.username)).toEqual(["boss"]);
  });

  it("two setups at once make exactly one admin", async () => {
    const fresh = await freshServer();
    const answers = await Promise.all(
      ["first", "second", "third"].map((username) =>
        setUpOverApi(fresh, { token: fresh.token, username, password: TEST_PASSWORD, confirmPassword: TEST_PASSWORD }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 404, 404]);
    expect(admins(fresh)).toHaveLength(1);
  });

  it("the users page does not offer to remove the last admin", async () => {
    const fresh = await freshServer();
    const created = await setUp(fresh, { token: fresh.token, username: "boss", password: TEST_PASSWORD, confirmPassword: TEST_PASSWORD });
    const jar = new CookieJar();
    jar.store(created);
    const page = async () => pageText(await fetch(`${fresh.url}/admin/users`, { headers: { cookie: jar.header() } }));
    expect(await page()).not.toContain('aria-label="Remove admin from boss"');
    const alice = await createUser(fresh.services, { role: "admin" });
    const both = await page();
    expect(both).toContain('aria-label="Remove admin from boss"');
    expect(both).toContain(`aria-label="Remove admin from ${alice.username}"`);
  });

  it("a server whose database has an admin makes no link and has no setup page", async () => {
    const file = freshDatabaseFile();
    const database = openDatabase(file);
    await ensureAdmin(database.db, { username: "boss", password: TEST_PASSWORD });
    database.close();
    server = await startTestServer({ DATABASE_URL: file });
    expect(server.setupLink).toBeNull();
    expect((await fetch(`${server.url}/setup`)).status).toBe(404);
    expect(await pageText(await fetch(`${server.url}/login`))).not.toContain("not set up yet");
  });
});
