import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count, eq } from "drizzle-orm";
import { conversations, messages } from "../../server/db/schema";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { logInOverHttp, startTestServer, type TestServer } from "../helpers/server";
import { openRawStream, streamError } from "../helpers/sse";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: "on", TRUST_PROXY: "loopback" });
});
afterAll(() => server.stop());

/** fetch() will not send another Host; a browser reaching us by a LAN name would. */
function getWithHost(url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { host } }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve(body));
    })
      .on("error", reject)
      .end();
  });
}

const healthy = async () => (await fetch(`${server.url}/healthz`)).status === 200;

describe("bad input never crashes the server", () => {
  it("a 10 MB body is refused with 413, on the API and on the pages", async () => {
    const huge = "x".repeat(10 * 1024 * 1024);
    const api = await fetch(`${server.url}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: huge, password: huge }),
    });
    expect(api.status).toBe(413);
    const page = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: `username=${huge}`,
    });
    expect(page.status).toBe(413);
    expect(await healthy()).toBe(true);
  });

  it("deeply nested JSON is refused before it is parsed", async () => {
    const { headers } = await browserSession();
    for (const body of ["[".repeat(900_000) + "]".repeat(900_000), '{"a":'.repeat(300_000) + "1" + "}".repeat(300_000)]) {
      const response = await fetch(`${server.url}/api/trpc/conversations.create`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        "The request's JSON is nested too deeply (more than 32 levels).",
      );
    }
    expect(await healthy()).toBe(true);
  });

  it("malformed, mistyped, missing and unknown requests answer 4xx with a readable message", async () => {
    const user = await createUser(server.services);
    const login = await fetch(`${server.url}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
    });
    const token = ((await login.json()) as { result: { data: { token: string } } }).result.data.token;
    const bearer = { authorization: `Bearer ${token}` };
    const cases: [string, RequestInit][] = [
      ["/api/trpc/auth.login", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }],
      ["/api/trpc/auth.login", { method: "POST", headers: { "content-type": "application/json" }, body: "[1,2,3]" }],
      ["/api/trpc/auth.login", { method: "POST" }],
      [
        "/api/trpc/conversations.create",
        { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: '{"title":42}' },
      ],
      ["/api/trpc/conversations.get?input=%7Bbroken", { headers: bearer }],
      ["/api/trpc/conversations.get", { headers: bearer }],
      ["/api/trpc/conversations.list?input=" + encodeURIComponent('{"limit":"many"}'), { headers: bearer }],
      ["/api/trpc/no.such.procedure", { method: "POST", headers: bearer }],
      ["/api/trpc/chat.stream?input=" + encodeURIComponent('{"conversationId":5}'), { headers: bearer }],
      ["/api/trpc/chat.resume?input=not-json", { headers: bearer }],
      ["/api/trpc/chat.stop", { method: "GET", headers: bearer }],
    ];
    for (const [path, init] of cases) {
      const response = await fetch(`${server.url}${path}`, init);
      const text = await response.text();
      const refusedInStream = response.status === 200 && text.includes("event: serialized-error");
      expect(
        refusedInStream || (response.status >= 400 && response.status < 500),
        `${path} answered ${response.status}: ${text.slice(0, 200)}`,
      ).toBe(true);
      expect(text).toMatch(/"message":"[^"]+"/);
    }
    expect(await healthy()).toBe(true);
  });
});

/** A person signed in with the browser's cookie, posting the app's forms from its own pages. */
async function browserSession(options: { role?: "admin" | "user" } = {}) {
  const user = await createUser(server.services, options);
  const { jar } = await logInOverHttp(server.url, user.username);
  const headers = { cookie: jar.header(), origin: server.url };
  return {
    user,
    headers,
    postForm: (path: string, body: URLSearchParams | FormData) =>
      fetch(`${server.url}${path}`, { method: "POST", headers, body, redirect: "manual" }),
  };
}

describe("bad input answers 4xx, never 500", () => {
  it("a NUL character in a search", async () => {
    const { headers } = await browserSession();
    const input = encodeURIComponent(JSON.stringify({ search: "abc\u0000def" }));
    const response = await fetch(`${server.url}/api/trpc/conversations.list?input=${input}`, { headers });
    expect(response.status).toBe(200);
  });

  it("a conversation id longer than any id is a missing conversation", async () => {
    const { headers } = await browserSession();
    const response = await fetch(`${server.url}/c/${"a".repeat(65)}`, { headers });
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("does not exist");
  });

  it("an empty message posted without JavaScript is refused with the reason, and leaves no empty conversation", async () => {
    const { user, postForm } = await browserSession();
    const response = await postForm("/?index", new URLSearchParams({ content: "   " }));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Write a message first.");
    const [left] = server.services.db.select({ n: count() }).from(conversations).where(eq(conversations.userId, user.id)).all();
    expect(left!.n).toBe(0);
  });

  it("a keys file over the limit, through the admin form", async () => {
    const { postForm } = await browserSession({ role: "admin" });
    const form = new FormData();
    form.set("intent", "load");
    form.set("file", new Blob([`tgk_${"a".repeat(40)}\n`.repeat(60_000)]), "keys.txt"); // 2.7 MB
    const response = await postForm("/admin/keys", form);
    expect(response.status).toBe(413);
    expect(await response.text()).toContain("The keys file is too large");
  });
});

describe("a GET that creates something must come from TeamGPT's own pages", () => {
  it("a cookie chat.stream from a same-site page, or a browser that says nothing, starts nothing", async () => {
    const { headers } = await browserSession();
    const newConversation = async () => {
      const create = await fetch(`${server.url}/api/trpc/conversations.create`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      });
      return ((await create.json()) as { result: { data: { id: string } } }).result.data.id;
    };
    const stream = (conversationId: string, extra: Record<string, string>) => {
      const input = encodeURIComponent(JSON.stringify({ conversationId, content: "posted by another app" }));
      return openRawStream(`${server.url}/api/trpc/chat.stream?input=${input}`, { cookie: headers.cookie, ...extra });
    };
    const stored = (conversationId: string) =>
      server.services.db.select().from(messages).where(eq(messages.conversationId, conversationId)).all();

    const target = await newConversation();
    const notOurs: Record<string, string>[] = [
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "none" },
      {},
    ];
    for (const extra of notOurs) {
      const refused = await stream(target, extra);
      expect(streamError(await refused.waitFor((event) => event.event === "serialized-error"))).toMatchObject({ code: "FORBIDDEN" });
    }
    expect(stored(target)).toEqual([]);

    // The app's own pages: the browser says same-origin, and TeamGPT's client sends its header.
    const ours: Record<string, string>[] = [{ "sec-fetch-site": "same-origin" }, { "x-teamgpt-client": "1" }];
    for (const extra of ours) {
      const conversationId = await newConversation();
      const allowed = await stream(conversationId, extra);
      await allowed.waitFor((event) => event.data.includes('"type":"start"'));
      allowed.close();
      expect(stored(conversationId).map((message) => message.role)).toEqual(["user", "assistant"]);
    }
  });
});

describe("security headers", () => {
  it("a page allows only its own scripts, by nonce, and cannot be framed", async () => {
    const response = await fetch(`${server.url}/login`);
    const csp = response.headers.get("content-security-policy")!;
    const nonce = csp.match(/script-src 'self' 'nonce-([^']+)'/)![1]!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("same-origin");
    expect(response.headers.get("strict-transport-security")).toBeNull(); // not in test mode
    const html = await response.text();
    const inlineScripts = html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? [];
    expect(inlineScripts.length).toBeGreaterThan(0);
    for (const tag of inlineScripts) expect(tag).toContain(`nonce="${nonce}"`);
    const again = await fetch(`${server.url}/login`);
    expect(again.headers.get("content-security-policy")).not.toContain(nonce);
  });

  it("an API response, never a document, gets the strictest policy and no nonce", async () => {
    const response = await fetch(`${server.url}/api/trpc/auth.me`);
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("HSTS in production", async () => {
    const production = await startTestServer({ NODE_ENV: "production" });
    try {
      const response = await fetch(`${production.url}/healthz`);
      expect(response.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");

      // Over plain http from another machine the Secure cookie would be dropped: the login page says so.
      const fromLan = await getWithHost(`${production.url}/login`, "teamgpt.lan:3000");
      expect(fromLan).toContain("your browser will not keep the login");
      const fromLocalhost = await (await fetch(`${production.url}/login`)).text();
      expect(fromLocalhost).not.toContain("your browser will not keep the login");
    } finally {
      await production.stop();
    }
  });
});

describe("abuse limits over HTTP", () => {
  it("answer 429 with Retry-After", async () => {
    let response: Response | undefined;
    for (let i = 0; i < 51; i++) {
      response = await fetch(`${server.url}/api/trpc/auth.login`, {
        method: "POST",
        // From an address of its own (told by a proxy on this machine): the other tests here log in from 127.0.0.1.
        headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
        body: JSON.stringify({ username: `nobody${i}`, password: "whatever1" }),
      });
    }
    expect(response!.status).toBe(429);
    expect(Number(response!.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await response!.json()) as { error: { message: string; data: { retryAfterSeconds: number } } };
    expect(body.error.message).toMatch(/Too many failed logins from your network\. Try again in \d+ s\./);
    expect(body.error.data.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe("password checks cannot be multiplied or starve the server", () => {
  it("a batch of logins is refused: one password check a request", async () => {
    const user = await createUser(server.services);
    const names = Array.from({ length: 100 }, () => "auth.login").join(",");
    const body = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [i, { username: user.username, password: i === 78 ? TEST_PASSWORD : `guess ${i}` }]),
    );
    for (const path of [names, encodeURIComponent(names)]) {
      const response = await fetch(`${server.url}/api/trpc/${path}?batch=1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(await response.text()).toContain("Send one login, registration or password change a request");
    }
    const huge = Array.from({ length: 21 }, () => "auth.me").join(",");
    expect((await fetch(`${server.url}/api/trpc/${huge}?batch=1`)).status).toBe(400);
    const fine = Array.from({ length: 20 }, () => "auth.me").join(",");
    expect((await fetch(`${server.url}/api/trpc/${fine}?batch=1`)).status).toBe(401);
  });

  it("a flood of logins is answered: what cannot be checked within seconds is told to come back", async () => {
    const open = await startTestServer(); // no rate limits: only the hashing itself is under test
    try {
      const logins = Array.from({ length: 300 }, (_, i) =>
        fetch(`${open.url}/api/trpc/auth.login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: `nobody${i}`, password: "whatever1" }),
        }),
      );
      expect((await fetch(`${open.url}/healthz`)).status).toBe(200);
      const responses = await Promise.all(logins);
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 401).length).toBeGreaterThan(100);
      const busy = responses.filter((response) => response.status === 429);
      expect(busy.length).toBe(300 - statuses.filter((status) => status === 401).length);
      expect(busy.length).toBeGreaterThan(0);
      expect(busy[0]!.headers.get("retry-after")).toBe("5");
      expect(await busy[0]!.text()).toContain("The server is busy checking passwords. Try again in a few seconds.");
    } finally {
      await open.stop();
    }
  });
});

describe("request bodies cannot fill the server's memory", () => {
  /**
   * A request that sends its headers and `sent` bytes of the body it promised, then stalls.
   * Resolves with the status the server answered, `closed` when it cut the connection, or
   * `waiting` when it is still waiting for the rest.
   */
  function stalledBody(path: string, length: number, headers: Record<string, string> = {}, sent = 6, form = false) {
    return new Promise<{ status: number | "closed" | "waiting"; socket: Socket }>((resolve, reject) => {
      const { host, port } = new URL(server.url);
      const socket = connect(Number(port), "127.0.0.1");
      const type = form ? "application/x-www-form-urlencoded" : "application/json";
      const lines = [`POST ${path} HTTP/1.1`, `Host: ${host}`, `Content-Type: ${type}`, `Content-Length: ${length}`];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      const start = form ? "content=" : '{"a":"';
      socket.write(`${lines.join("\r\n")}\r\n\r\n${start}${"x".repeat(Math.max(0, sent - start.length))}`);
      let answer = "";
      socket.on("data", (chunk) => {
        answer += chunk.toString();
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
        if (status) resolve({ status: Number(status), socket });
      });
      socket.once("close", () => resolve({ status: "closed", socket }));
      socket.once("error", () => resolve({ status: "closed", socket }));
      setTimeout(() => resolve({ status: "waiting", socket }), 1_000);
      void reject;
    });
  }

  it("a body larger than its sender may send is refused from its headers", async () => {
    const anonymous = await stalledBody("/api/trpc/auth.login", 4_000_000);
    expect(anonymous.status).toBe(413);
    anonymous.socket.destroy();
    const form = await stalledBody("/login", 200_000, { origin: server.url });
    expect(form.status).toBe(413);
    form.socket.destroy();
  });

  it("bodies being received hold only so much memory per network; promises alone hold none", async () => {
    const { headers } = await browserSession();
    const auth = { cookie: headers.cookie, origin: server.url };
    const sockets: Socket[] = [];
    try {
      // Two hundred connections that promise bodies and send nothing take no one's room.
      for (let i = 0; i < 200; i++) sockets.push(connect(Number(new URL(server.url).port), "127.0.0.1"));
      for (const socket of sockets) {
        socket.write(
          `POST /api/trpc/auth.login HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await fetch(`${server.url}/api/trpc/auth.me`, { headers: { cookie: headers.cookie } })).status).toBe(200);
      const create = await fetch(`${server.url}/api/trpc/conversations.create`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: "{}",
      });
      expect(create.status).toBe(200);

      // Bodies that really arrive count: four almost whole 2 MB bodies fill one network's 8 MB.
      for (let i = 0; i < 4; i++) {
        const held = await stalledBody("/api/trpc/conversations.create", 2_000_000, auth, 1_900_000);
        expect(held.status).toBe("waiting");
        sockets.push(held.socket);
      }
      const fifth = await stalledBody("/api/trpc/conversations.create", 2_000_000, auth, 1_900_000);
      sockets.push(fifth.socket);
      expect(fifth.status).toBe(429);
      // A form's body counts as it arrives too (Remix reads it): past the budget, its connection is cut.
      const form = await stalledBody("/?index", 2_000_000, auth, 1_900_000, true);
      sockets.push(form.socket);
      expect(form.status).toBe("closed");
      for (const socket of sockets.splice(4)) socket.destroy();
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});
