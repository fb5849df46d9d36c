import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
 * docs/deploy.md's nginx configuration, run by Debian's nginx: the docs cannot drift from what
 * works. Skipped, loudly, where nginx is missing; in CI (CI=true) that is a failure.
 */
const NGINX = process.env.NGINX_PATH ?? "/usr/sbin/nginx";
const hasNginx = existsSync(NGINX);
if (!hasNginx) {
  const message = `The reverse proxy test needs nginx at ${NGINX} (apt-get install -y nginx).`;
  if (process.env.CI) throw new Error(message);
  console.warn(`SKIPPING nginx tests: ${message}`);
}

/** The `location` block between the markers in docs/deploy.md, pointed at `upstream`. */
function documentedLocation(upstream: string): string {
  const doc = readFileSync(resolve(ROOT, "docs/deploy.md"), "utf8");
  const block = doc.match(/<!-- nginx:begin -->\s*```nginx\n([\s\S]*?)```\s*<!-- nginx:end -->/)?.[1];
  if (!block) throw new Error("docs/deploy.md has no nginx block between its markers");
  return block.replace("http://127.0.0.1:3000", upstream);
}

async function startNginx(port: number, upstream: string): Promise<ChildProcess> {
  const dir = resolve(ARTIFACTS_DIR, `nginx-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
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
    ${documentedLocation(upstream)}
  }
}`;
  writeFileSync(`${dir}/nginx.conf`, conf);
  const child = spawn(NGINX, ["-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { stdio: "ignore" });
  for (let waited = 0; ; waited += 50) {
    const ready = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return child;
    if (waited > 10_000 || child.exitCode !== null) throw new Error(`nginx did not start: ${readFileSync(`${dir}/error.log`, "utf8")}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

describe.skipIf(!hasNginx)("through nginx, configured as docs/deploy.md says", () => {
  let upstream: FakeUpstream;
  let server: TestServer;
  let nginx: ChildProcess;
  let proxy: string;

  beforeAll(async () => {
    ({ upstream } = await startTestUpstream());
    server = await startTestServer({ ...upstreamEnv(upstream), TRUST_PROXY: "loopback" });
    const port = await freePort();
    nginx = await startNginx(port, server.url);
    proxy = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    nginx?.kill();
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
    const input = encodeURIComponent(JSON.stringify({ conversationId, content: "Stream through nginx" }));
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
});
