import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { startTestServer, type TestServer } from "../helpers/server";

/**
 * What a reverse proxy tells TeamGPT (X-Forwarded-For, -Host, -Proto) is believed only from
 * proxies TRUST_PROXY names: otherwise any client could pick its own address for the limits.
 */

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** A request as nginx sends it with `proxy_set_header Host $host` on a non-default port. */
function throughProxy(target: TestServer, path: string, headers: Record<string, string>, body = "") {
  const { port } = new URL(target.url);
  return new Promise<{ status: number; text: string; location: string | undefined }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: body ? "POST" : "GET",
        headers: {
          ...headers,
          ...(body ? { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, text, location: res.headers.location }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const PROXIED = {
  host: "chat.example.com",
  origin: "http://chat.example.com:8080",
  "x-forwarded-host": "chat.example.com:8080",
  "x-forwarded-proto": "http",
  "x-forwarded-for": "198.51.100.7",
};

describe("behind a reverse proxy", () => {
  it("without TRUST_PROXY, forwarded headers are not believed: the login form is refused with a 403 that says what to set, and the log says why", async () => {
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger(
      { NODE_ENV: "test", LOG_LEVEL: "warn" },
      { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    server = await startTestServer({}, { logger });
    const user = await createUser(server.services);
    const form = new URLSearchParams({ username: user.username, password: TEST_PASSWORD, redirectTo: "/" }).toString();
    const refused = await throughProxy(server, "/login", PROXIED, form);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("an admin should set PUBLIC_ORIGIN to the address in your browser's address bar");
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        origin: "http://chat.example.com:8080",
        expected: ["chat.example.com"],
        msg: expect.stringMatching(/^refused a request from another origin/),
      }),
    );
  });

  it("with TRUST_PROXY, the proxy's X-Forwarded-Host makes the same login work", async () => {
    server = await startTestServer({ TRUST_PROXY: "loopback" });
    const user = await createUser(server.services);
    const form = new URLSearchParams({ username: user.username, password: TEST_PASSWORD, redirectTo: "/" }).toString();
    const accepted = await throughProxy(server, "/login", PROXIED, form);
    expect(accepted.status).toBe(302);
    expect(accepted.location).toBe("/");
  });

  it("a client cannot pick its own address for the limits unless TRUST_PROXY trusts whoever sent it", async () => {
    server = await startTestServer({ RATE_LIMITS: "on", LOGIN_FAILURES_PER_IP: "3" });
    const login = (i: number) =>
      fetch(`${server!.url}/api/trpc/auth.login`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `203.0.113.${i}` },
        body: JSON.stringify({ username: `nobody${i}`, password: "whatever1" }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(i)).status);
    // Four "different" addresses, one real one: the fourth failure is over the limit.
    expect(statuses).toEqual([401, 401, 401, 429]);

    await server.stop();
    server = await startTestServer({ RATE_LIMITS: "on", LOGIN_FAILURES_PER_IP: "3", TRUST_PROXY: "loopback" });
    const trusted = [];
    for (let i = 0; i < 4; i++) trusted.push((await login(i)).status);
    expect(trusted).toEqual([401, 401, 401, 401]);
  });
});
