import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { freePort } from "../helpers/llama";
import { ARTIFACTS_DIR, ROOT } from "../helpers/paths";
import { CookieJar, startTestServer, type TestServer } from "../helpers/server";
import { openRawStream } from "../helpers/sse";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

/**
 * docs/deploy.md's nginx and Caddy configurations, run by Debian's nginx and Caddy: the docs
 * cannot drift from what works. Skipped, loudly, where one is missing; in CI (CI=true) that is
 * a failure.
 */
interface ReverseProxy {
  name: string;
  binary: string;
  /** Starts the proxy on 127.0.0.1:`port` in front of `upstream` (http://127.0.0.1:…). */
  start(port: number, upstream: string, dir: string): ChildProcess;
}

const PROXIES: ReverseProxy[] = [
  {
    name: "nginx",
    binary: process.env.NGINX_PATH ?? "/usr/sbin/nginx",
    start(port, upstream, dir) {
      const conf = `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    ${documented("nginx").replace("http://127.0.0.1:3000", upstream)}
  }
}`;
      writeFileSync(`${dir}/nginx.conf`, conf);
      return spawn(this.binary, ["-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { stdio: "ignore" });
    },
  },
  {
    name: "Caddy",
    binary: process.env.CADDY_PATH ?? "/usr/bin/caddy",
    start(port, upstream, dir) {
      // The documented site, served over plain http on the test's port; no admin endpoint (the
      // default one on :2019 would collide between runs) and its state kept in the test's folder.
      const site = documented("caddyfile")
        .replace("chat.example.com", `http://127.0.0.1:${port}`)
        .replace("127.0.0.1:3000", new URL(upstream).host);
      writeFileSync(`${dir}/Caddyfile`, `{\n\tadmin off\n}\n\n${site}`);
      const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
      return spawn(this.binary, ["run", "--config", `${dir}/Caddyfile`, "--adapter", "caddyfile"], {
        stdio: ["ignore", "ignore", openSync(`${dir}/error.log`, "w")],
        env,
      });
    },
  },
];

/** The block of `language` between `<!-- language:begin -->` and `<!-- language:end -->` in docs/deploy.md. */
function documented(language: "nginx" | "caddyfile"): string {
  const doc = readFileSync(resolve(ROOT, "docs/deploy.md"), "utf8");
  const marker = language === "caddyfile" ? "caddy" : language;
  const block = doc.match(new RegExp(`<!-- ${marker}:begin -->\\s*\`\`\`${language}\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${marker}:end -->`))?.[1];
  if (!block) throw new Error(`docs/deploy.md has no ${language} block between its ${marker} markers`);
  return block;
}

async function startProxy(proxy: ReverseProxy, port: number, upstream: string): Promise<ChildProcess> {
  const dir = resolve(ARTIFACTS_DIR, `${proxy.name.toLowerCase()}-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  const child = proxy.start(port, upstream, dir);
  for (let waited = 0; ; waited += 50) {
    const ready = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return child;
    if (waited > 10_000 || child.exitCode !== null) {
      child.kill();
      throw new Error(`${proxy.name} did not start: ${readFileSync(`${dir}/error.log`, "utf8")}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

const installed = PROXIES.filter((proxy) => {
  if (existsSync(proxy.binary)) return true;
  const message = `The reverse proxy test needs ${proxy.name} at ${proxy.binary} (apt-get install -y ${proxy.name.toLowerCase()}).`;
  if (process.env.CI) throw new Error(message);
  console.warn(`SKIPPING ${proxy.name} tests: ${message}`);
  return false;
});

describe.each(installed.map((proxy) => [proxy.name, proxy] as const))(
  "through %s, configured as docs/deploy.md says",
  (_name, reverseProxy) => {
    let upstream: FakeUpstream;
    let server: TestServer;
    let child: ChildProcess;
    let proxy: string;

    beforeAll(async () => {
      ({ upstream } = await startTestUpstream());
      server = await startTestServer({ ...upstreamEnv(upstream), TRUST_PROXY: "loopback" });
      const port = await freePort();
      child = await startProxy(reverseProxy, port, server.url);
      proxy = `http://127.0.0.1:${port}`;
    });
    afterAll(async () => {
      child?.kill();
      await server?.stop();
      await upstream?.close();
    });

    it("signs in with the login form on a non-default port and streams a reply as it is written", async () => {
      const user = await createUser(server.services);
      const login = await fetch(`${proxy}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: proxy },
        body: new URLSearchParams({ username: user.username, password: TEST_PASSWORD, redirectTo: "/" }).toString(),
      });
      expect(login.status).toBe(302);
      const jar = new CookieJar();
      jar.store(login);

      const created = await fetch(`${proxy}/api/trpc/conversations.create`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: jar.header(), origin: proxy },
        body: "{}",
      });
      expect(created.status).toBe(200);
      const conversationId = ((await created.json()) as { result: { data: { id: string } } }).result.data.id;

      const words = Array.from({ length: 30 }, (_, i) => `word${i} `);
      upstream.enqueue({ kind: "reply", tokens: words, tokenDelayMs: 40 });
      const started = performance.now();
      const input = encodeURIComponent(JSON.stringify({ conversationId, content: `Stream through ${reverseProxy.name}` }));
      const stream = await openRawStream(`${proxy}/api/trpc/chat.stream?input=${input}`, {
        cookie: jar.header(),
        "x-teamgpt-client": "test",
      });
      expect(stream.status).toBe(200);
      await stream.waitFor((event) => event.data.includes('"type":"delta"'));
      const firstDelta = performance.now() - started;
      await stream.waitFor((event) => event.data.includes('"type":"done"'));
      const done = performance.now() - started;
      // 30 tokens 40 ms apart: unbuffered, the first arrives about a second before the end.
      expect(done - firstDelta).toBeGreaterThan(700);
      stream.close();
    });
  },
);
