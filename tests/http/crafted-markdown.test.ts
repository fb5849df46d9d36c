import { describe, expect, it } from "vitest";
import { createConversation, createUser, TEST_PASSWORD } from "../helpers/factories";
import { CookieJar, useProductionServer } from "../helpers/server";

const production = useProductionServer();

async function signedIn(): Promise<{ userId: string; cookie: string }> {
  const user = await createUser(production.server.services);
  const response = await fetch(`${production.server.url}/api/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
  });
  expect(response.status).toBe(200);
  const jar = new CookieJar();
  jar.store(response);
  return { userId: user.id, cookie: jar.header() };
}

async function timed(path: string, cookie: string): Promise<{ status: number; html: string; ms: number }> {
  const start = performance.now();
  const response = await fetch(`${production.server.url}${path}`, { headers: { cookie } });
  const html = await response.text();
  return { status: response.status, html, ms: performance.now() - start };
}

describe("a saved reply crafted to stall the markdown parser", () => {
  it("opens, while another person's page is served meanwhile", async () => {
    const [reader, other] = await Promise.all([signedIn(), signedIn()]);
    // Issue #12: this reply took 98 s to render, and every other request waited for it.
    const id = createConversation(production.server.services, reader.userId, [
      { role: "user", content: "Say it" },
      { role: "assistant", content: "*a".repeat(50_000) },
    ]);

    // The other person asks every 50 ms while the reply is rendered: one answer at least
    // waits for the render, however the two requests interleave.
    const opening = timed(`/c/${id}`, reader.cookie);
    const meanwhile: Promise<{ status: number; html: string; ms: number }>[] = [];
    let done = false;
    void opening.finally(() => (done = true));
    while (!done && meanwhile.length < 40) {
      meanwhile.push(timed("/", other.cookie));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const opened = await opening;
    const answers = await Promise.all(meanwhile);

    expect(opened.status).toBe(200);
    expect(opened.html.match(/<em>a<\/em>/g)).toHaveLength(25_000);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.html).toContain("What can I help with?");
    }
    // Generous bounds, so a busy machine cannot fail them: each takes well under a second.
    expect(opened.ms).toBeLessThan(5_000);
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(2_000);
  });

  it("a reply nested 1,250 quotes deep opens (it overflowed the stack)", async () => {
    const reader = await signedIn();
    const id = createConversation(production.server.services, reader.userId, [
      { role: "user", content: "Quote it" },
      { role: "assistant", content: `${"> ".repeat(1_250)}the bottom` },
    ]);
    const opened = await timed(`/c/${id}`, reader.cookie);
    expect(opened.status).toBe(200);
    expect(opened.html.match(/<blockquote>/g)).toHaveLength(20);
    expect(opened.html).toMatch(/<p class="markdown-plain">(&gt; ){1230}the bottom<\/p>/);
  });
});
