import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "../../server/db/schema";
import { createKey, createUser, TEST_PASSWORD } from "../helpers/factories";
import { CookieJar, startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

function trpc(path: string, init: { input?: unknown; headers?: Record<string, string>; method?: "GET" | "POST" } = {}) {
  const method = init.method ?? "POST";
  const query = method === "GET" && init.input !== undefined ? `?input=${encodeURIComponent(JSON.stringify(init.input))}` : "";
  return fetch(`${server.url}/api/trpc/${path}${query}`, {
    method,
    headers: { "content-type": "application/json", ...init.headers },
    body: method === "POST" ? JSON.stringify(init.input ?? {}) : undefined,
  });
}

async function loginOverHttp(username: string) {
  const response = await trpc("auth.login", { input: { username, password: TEST_PASSWORD } });
  expect(response.status).toBe(200);
  const jar = new CookieJar();
  jar.store(response);
  const body = (await response.json()) as { result: { data: { token: string } } };
  return { jar, token: body.result.data.token };
}

/** Page text as a person reads it: React separates adjacent text with empty comments. */
async function pageText(response: Response) {
  return (await response.text()).replace(/<!-- -->/g, "");
}

function form(fields: Record<string, string>) {
  return new URLSearchParams(fields).toString();
}

function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.origin, ...headers },
    body: form(fields),
  });
}

describe("the server", () => {
  it("answers /healthz with JSON after checking the database", async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, database: "ok" });
  });

  it("sends logged-out visitors to /login", async () => {
    const response = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/login");
    const admin = await fetch(`${server.url}/admin/keys`, { redirect: "manual" });
    expect(admin.headers.get("location")).toBe("/login?redirectTo=%2Fadmin%2Fkeys");
  });

  it("answers malformed tRPC requests with a readable 4xx and stays up", async () => {
    const badJson = await fetch(`${server.url}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(badJson.status).toBe(400);
    const unknown = await trpc("auth.nothing", {});
    expect(unknown.status).toBe(404);
    const wrongType = await trpc("auth.login", { input: { username: 42, password: [] } });
    expect(wrongType.status).toBe(400);
    const body = (await wrongType.json()) as { error: { message: string; data: { code: string; zodError: unknown } } };
    expect(body.error.data.code).toBe("BAD_REQUEST");
    expect(body.error.message).toContain("Enter your username.");
    expect(body.error.data.zodError).toBeTruthy();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("sessions over HTTP", () => {
  it("login sets an httpOnly SameSite=Lax cookie and returns a bearer token; both identify the user", async () => {
    const user = await createUser(server.services);
    const response = await trpc("auth.login", { input: { username: user.username, password: TEST_PASSWORD } });
    const [cookie] = response.headers.getSetCookie();
    expect(cookie).toMatch(/^teamgpt_session=[a-z0-9]+; HttpOnly; Max-Age=\d+; Path=\/; SameSite=Lax$/);
    const { result } = (await response.json()) as { result: { data: { token: string; user: unknown } } };
    expect(result.data.user).toEqual(user);

    const viaBearer = await trpc("auth.me", { method: "GET", headers: { authorization: `Bearer ${result.data.token}` } });
    expect(((await viaBearer.json()) as { result: { data: unknown } }).result.data).toEqual(user);
    const viaCookie = await trpc("auth.me", { method: "GET", headers: { cookie: cookie!.split(";")[0]! } });
    expect(((await viaCookie.json()) as { result: { data: unknown } }).result.data).toEqual(user);
  });

  it("an unknown or logged-out token is UNAUTHORIZED", async () => {
    const user = await createUser(server.services);
    const { token } = await loginOverHttp(user.username);
    const logout = await trpc("auth.logout", { headers: { authorization: `Bearer ${token}` } });
    expect(await logout.json()).toEqual({ result: { data: { ok: true } } });
    const after = await trpc("auth.me", { method: "GET", headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    const made_up = await trpc("auth.me", { method: "GET", headers: { authorization: "Bearer not-a-token" } });
    expect(made_up.status).toBe(401);
  });

  it("an expired session is refused and the browser told to forget its cookie", async () => {
    const user = await createUser(server.services);
    const { jar } = await loginOverHttp(user.username);
    server.services.db
      .update(sessions)
      .set({ expiresAt: Math.floor(Date.now() / 1000) - 1 })
      .where(eq(sessions.userId, user.id))
      .run();
    const response = await fetch(`${server.url}/`, { headers: { cookie: jar.header() }, redirect: "manual" });
    expect(response.headers.get("location")).toBe("/login");
    expect(response.headers.getSetCookie()[0]).toMatch(/^teamgpt_session=;.*Max-Age=0/);
    expect(server.services.db.select().from(sessions).where(eq(sessions.userId, user.id)).all()).toEqual([]);
  });

  it("refuses cookie-carrying state changes from another origin, and lets bearer scripts through", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const { jar, token } = await loginOverHttp(admin.username);
    const cookie = jar.header();
    const generate = (headers: Record<string, string>) => trpc("admin.keys.generate", { input: { count: 1 }, headers });

    expect((await generate({ cookie, origin: "https://evil.example" })).status).toBe(403);
    expect((await generate({ cookie })).status).toBe(403); // a browser always sends Origin on POST
    expect((await generate({ cookie, origin: server.origin })).status).toBe(200);
    expect((await generate({ authorization: `Bearer ${token}`, origin: "https://evil.example" })).status).toBe(200);

    const refused = await postForm("/logout", {}, { cookie, origin: "https://evil.example" });
    expect(refused.status).toBe(403);
    expect((await trpc("auth.me", { method: "GET", headers: { cookie } })).status).toBe(200);
  });

  it("accepts PUBLIC_ORIGIN as our own origin behind a proxy", async () => {
    const proxied = await startTestServer({ PUBLIC_ORIGIN: "https://chat.example.com" });
    try {
      const user = await createUser(proxied.services);
      const login = await fetch(`${proxied.url}/api/trpc/auth.login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
      });
      const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
      const refresh = (origin: string) =>
        fetch(`${proxied.url}/api/trpc/auth.refresh`, { method: "POST", headers: { cookie, origin, "content-type": "application/json" } });
      expect((await refresh("https://chat.example.com")).status).toBe(200);
      expect((await refresh("https://other.example.com")).status).toBe(403);
    } finally {
      await proxied.stop();
    }
  });
});

describe("pages without JavaScript", () => {
  it("logs in with the form and lands on the page asked for", async () => {
    const user = await createUser(server.services);
    const response = await postForm("/login", { username: user.username, password: TEST_PASSWORD, redirectTo: "/" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/");
    const jar = new CookieJar();
    jar.store(response);
    const home = await fetch(`${server.url}/`, { headers: { cookie: jar.header() } });
    expect(home.status).toBe(200);
    const html = await pageText(home);
    expect(html).toContain("What can I help with?");
    expect(html).toContain(`title="Signed in as">${user.username}<`);

    const loginAgain = await fetch(`${server.url}/login`, { headers: { cookie: jar.header() }, redirect: "manual" });
    expect(loginAgain.headers.get("location")).toBe("/");
  });

  it("never redirects off-site after login", async () => {
    const user = await createUser(server.services);
    for (const redirectTo of ["//evil.example/x", "/\t/evil.example", "/\\evil.example", "/.//evil.example/x"]) {
      const response = await postForm("/login", { username: user.username, password: TEST_PASSWORD, redirectTo });
      expect(response.headers.get("location"), JSON.stringify(redirectTo)).toBe("/");
    }
  });

  it("shows a login failure and keeps the username, never the password", async () => {
    const response = await postForm("/login", { username: "someone", password: "secret-attempt-123" });
    expect(response.status).toBe(401);
    const html = await response.text();
    expect(html).toContain("Wrong username or password.");
    expect(html).toContain('value="someone"');
    expect(html).not.toContain("secret-attempt-123");
  });

  it("registers with the form, showing errors beside their fields", async () => {
    const key = createKey(server.services);
    const bad = await postForm("/register", {
      username: "no",
      password: "longenough1",
      confirmPassword: "different12",
      registrationKey: key,
    });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain("Use at least 3 characters.");
    expect(html).toContain("The passwords do not match.");
    expect(html).toContain(`value="${key}"`);
    expect(html).not.toContain("longenough1");

    const good = await postForm("/register", {
      username: "newcomer",
      password: "longenough1",
      confirmPassword: "longenough1",
      registrationKey: key,
    });
    expect(good.status).toBe(302);
    const jar = new CookieJar();
    jar.store(good);
    expect(await pageText(await fetch(`${server.url}/`, { headers: { cookie: jar.header() } }))).toContain(
      'title="Signed in as">newcomer<',
    );

    const reused = await postForm("/register", {
      username: "second",
      password: "longenough1",
      confirmPassword: "longenough1",
      registrationKey: key,
    });
    expect(reused.status).toBe(409);
    expect(await reused.text()).toContain("This registration key has already been used.");
  });

  it("logs out with a POST and the cookie stops working", async () => {
    const user = await createUser(server.services);
    const { jar } = await loginOverHttp(user.username);
    const cookie = jar.header();
    const response = await postForm("/logout", {}, { cookie });
    expect(response.headers.get("location")).toBe("/login");
    expect(response.headers.getSetCookie()[0]).toMatch(/^teamgpt_session=;/);
    const home = await fetch(`${server.url}/`, { headers: { cookie }, redirect: "manual" });
    expect(home.headers.get("location")).toBe("/login");
  });
});

describe("the account page", () => {
  it("changes the password with the current one, and logs out the other sessions", async () => {
    const user = await createUser(server.services);
    const here = await loginOverHttp(user.username);
    const elsewhere = await loginOverHttp(user.username);
    const change = (currentPassword: string) =>
      postForm(
        "/account",
        { currentPassword, newPassword: "brand new secret", confirmPassword: "brand new secret" },
        { cookie: here.jar.header() },
      );

    const wrong = await change("not it at all");
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("That is not your current password.");
    const right = await change(TEST_PASSWORD);
    expect(right.status).toBe(200);
    expect(await right.text()).toContain("Password changed.");

    expect((await trpc("auth.me", { method: "GET", headers: { cookie: here.jar.header() } })).status).toBe(200);
    expect((await trpc("auth.me", { method: "GET", headers: { authorization: `Bearer ${elsewhere.token}` } })).status).toBe(401);
  });
});

describe("the admin users page", () => {
  it("disables an account (logging it out) and enables it again; others get a 403", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const alice = await createUser(server.services);
    const { jar } = await loginOverHttp(admin.username);
    const aliceSession = await loginOverHttp(alice.username);
    const cookie = jar.header();
    const page = await pageText(await fetch(`${server.url}/admin/users`, { headers: { cookie } }));
    expect(page).toContain(alice.username);

    const disabled = await postForm("/admin/users", { intent: "disable", userId: alice.id }, { cookie });
    expect(await pageText(disabled)).toContain(`${alice.username} is disabled and logged out everywhere.`);
    expect((await trpc("auth.me", { method: "GET", headers: { authorization: `Bearer ${aliceSession.token}` } })).status).toBe(401);
    const refused = await trpc("auth.login", { input: { username: alice.username, password: TEST_PASSWORD } });
    expect(refused.status).toBe(403);

    await postForm("/admin/users", { intent: "enable", userId: alice.id }, { cookie });
    expect((await trpc("auth.login", { input: { username: alice.username, password: TEST_PASSWORD } })).status).toBe(200);
    const aliceAgain = await loginOverHttp(alice.username);
    const forbidden = await fetch(`${server.url}/admin/users`, { headers: { cookie: aliceAgain.jar.header() } });
    expect(forbidden.status).toBe(403);
  });
});

describe("password reset links", () => {
  it("an admin makes one on the users page; the person opens it, chooses a password, and is logged out elsewhere", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const alice = await createUser(server.services);
    const { jar } = await loginOverHttp(admin.username);
    const aliceElsewhere = await loginOverHttp(alice.username);
    const made = await pageText(await postForm("/admin/users", { intent: "reset-password", userId: alice.id }, { cookie: jar.header() }));
    expect(made).toContain(`A one-time link for ${alice.username} to choose a new password.`);
    const link = made.match(/<code>(http:\/\/[^<]+\/reset\?token=[0-9a-z]{32})<\/code>/)![1]!;
    const path = new URL(link).pathname + new URL(link).search;

    const page = await pageText(await fetch(`${server.url}${path}`));
    expect(page).toContain(`For ${alice.username}. You will be logged out everywhere else.`);
    const token = new URL(link).searchParams.get("token")!;
    const saved = await postForm("/reset", { token, password: "a brand new password", confirmPassword: "a brand new password" });
    expect(saved.status).toBe(302);
    expect(saved.headers.get("location")).toBe("/");
    const me = await trpc("auth.me", { method: "GET", headers: { authorization: `Bearer ${aliceElsewhere.token}` } });
    expect(me.status).toBe(401);
    expect(await pageText(await fetch(`${server.url}${path}`))).toContain("This reset link does not work");
  });
});

describe("the admin models page", () => {
  it("shows where replies come from and each model's limits to admins; others get a 403", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const { jar } = await loginOverHttp(admin.username);
    const response = await fetch(`${server.url}/admin/models`, { headers: { cookie: jar.header() } });
    expect(response.status).toBe(200);
    const page = await pageText(response);
    // A description, not a URL: in words, not in code type.
    expect(page).toContain("Replies come from the built-in offline demo.");
    expect(page).toContain("teamgpt-demo");
    expect(page).toContain("16,384 tokens");
    expect(page).toContain("None since the server started.");
    const user = await createUser(server.services);
    const { jar: userJar } = await loginOverHttp(user.username);
    expect((await fetch(`${server.url}/admin/models`, { headers: { cookie: userJar.header() } })).status).toBe(403);
  });
});

describe("the admin keys page", () => {
  it("is a 403 page for people who are not admins", async () => {
    const user = await createUser(server.services);
    const { jar } = await loginOverHttp(user.username);
    const response = await fetch(`${server.url}/admin/keys`, { headers: { cookie: jar.header() } });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("Only admins can open this page.");
  });

  it("lets an admin generate, revoke and upload keys", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const { jar } = await loginOverHttp(admin.username);
    const cookie = jar.header();

    const generated = await postForm("/admin/keys", { intent: "generate", count: "2", note: "ops" }, { cookie });
    expect(generated.status).toBe(200);
    const html = await generated.text();
    const shownOnce = html.match(/<textarea[^>]*aria-label="New keys"[^>]*>([^<]*)<\/textarea>/)![1]!;
    const keys = shownOnce.trim().split("\n");
    expect(keys.every((key) => /^tgk_[0-9a-z]{26}$/.test(key))).toBe(true);
    expect(keys).toHaveLength(2);
    expect(html).toContain("Download keys.txt");

    const upload = new FormData();
    upload.set("intent", "load");
    upload.set("file", new Blob([`# from HR\nhr-key-00001\n${keys[0]}\n`], { type: "text/plain" }), "keys.txt");
    const loaded = await fetch(`${server.url}/admin/keys`, { method: "POST", headers: { cookie, origin: server.origin }, body: upload });
    expect(loaded.status).toBe(200);
    expect(await pageText(loaded)).toMatch(/<strong>1<\/strong> added, <strong>1<\/strong> duplicate skipped/);

    const listed = await (await fetch(`${server.url}/admin/keys?status=unused`, { headers: { cookie } })).text();
    expect(listed).toContain("hr-key-00001");
    const id = listed.match(/name="id" value="([^"]+)"/)![1]!;
    const revoked = await postForm("/admin/keys", { intent: "revoke", id }, { cookie });
    expect(revoked.status).toBe(200);
    const revokedList = await (await fetch(`${server.url}/admin/keys?status=revoked`, { headers: { cookie } })).text();
    expect(revokedList.match(/status-revoked/g)).toHaveLength(1);
  });

  it("shows thousands of keys a page at a time, and a broken page link leads back to the first page", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const { jar } = await loginOverHttp(admin.username);
    const cookie = jar.header();
    await postForm("/admin/keys", { intent: "generate", count: "1000", note: "bulk" }, { cookie });
    await postForm("/admin/keys", { intent: "generate", count: "200", note: "bulk" }, { cookie });

    const keysOn = (html: string) => [...html.matchAll(/<code>([^<]+)<\/code>/g)].map((match) => match[1]!);
    const first = await (await fetch(`${server.url}/admin/keys?status=unused`, { headers: { cookie } })).text();
    expect(keysOn(first)).toHaveLength(100);
    expect(first).toMatch(/[\d,]+ unused keys, newest first, 100 a page\./);
    expect(first).not.toContain("← Newest keys");
    const next = first.match(/href="(\/admin\/keys\?status=unused&amp;after=[^"]+)">Older keys →/)![1]!.replaceAll("&amp;", "&");
    const second = await (await fetch(`${server.url}${next}`, { headers: { cookie } })).text();
    expect(keysOn(second)).toHaveLength(100);
    expect(second).toContain("← Newest keys");
    expect(new Set([...keysOn(first), ...keysOn(second)]).size).toBe(200);

    const broken = await fetch(`${server.url}/admin/keys?status=unused&after=broken`, { headers: { cookie }, redirect: "manual" });
    expect([broken.status, broken.headers.get("location")]).toEqual([302, "/admin/keys?status=unused"]);
  });
});
