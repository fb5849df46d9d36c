import { monitorEventLoopDelay } from "node:perf_hooks";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../server/db/schema";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { eventually } from "../helpers/chat";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { holdWriteLock } from "../helpers/lock-holder";
import { startTestServer, type TestServer } from "../helpers/server";
import { openRawStream, type RawStream } from "../helpers/sse";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

let upstream: FakeUpstream;
let server: TestServer;
let token: string;
beforeAll(async () => {
  ({ upstream } = await startTestUpstream());
  server = await startTestServer(upstreamEnv(upstream, { OPENAI_IDLE_TIMEOUT_MS: "10000" }));
  const user = await createUser(server.services);
  const login = await call("auth.login", { username: user.username, password: TEST_PASSWORD });
  token = (login.body as { result: { data: { token: string } } }).result.data.token;
});
afterAll(async () => {
  await server.stop();
  await upstream.close();
});

async function call(path: string, input: unknown) {
  const response = await fetch(`${server.url}/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(input),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
}

async function streamReply(conversationId: string): Promise<{ stream: RawStream; replyId: string }> {
  const input = encodeURIComponent(JSON.stringify({ conversationId, content: "write slowly" }));
  const stream = await openRawStream(`${server.url}/api/trpc/chat.stream?input=${input}`, { authorization: `Bearer ${token}` });
  const start = await stream.waitFor((event) => event.data.includes('"type":"start"'));
  return { stream, replyId: (JSON.parse(start.data) as { assistantMessage: { id: string } }).assistantMessage.id };
}

const storedReply = (id: string) => server.services.db.select().from(messages).where(eq(messages.id, id)).get()!;
const health = async () => {
  const response = await fetch(`${server.url}/healthz`);
  return { status: response.status, body: (await response.json()) as { ok: boolean; database: string } };
};
const finalEvent = (stream: RawStream) =>
  stream.waitFor((event) => /"type":"(done|error)"/.test(event.data), 10_000).then((event) => JSON.parse(event.data) as { type: string });

describe("a database another process holds locked", () => {
  it("never blocks the event loop for seconds nor kills the server; replies end for their readers and are saved once it lets go", async () => {
    const conversation = (await call("conversations.create", {})).body as { result: { data: { id: string } } };
    const text = "word ".repeat(40);
    upstream.enqueue({ kind: "reply", text, tokenDelayMs: 50 }); // ~2 s: several checkpoints, and the end, under the lock
    const { stream, replyId } = await streamReply(conversation.result.data.id);
    await stream.waitFor((event) => event.data.includes('"type":"delta"'));

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const lock = await holdWriteLock(server.services.env.DATABASE_URL);
    try {
      // The reply ends for whoever follows it, with the lock still held.
      expect(await finalEvent(stream)).toMatchObject({ type: "done" });
      expect(storedReply(replyId).status).toBe("streaming"); // not saved yet

      expect(await health()).toMatchObject({ status: 503, body: { ok: false, database: "locked" } });
      const refused = await call("chat.send", { conversationId: conversation.result.data.id, content: "another" });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("2");
      expect(JSON.stringify(refused.body)).toContain("The database is busy: another program is writing to it. Try again in a moment.");
      // Reloading the conversation meanwhile shows the whole reply, from memory.
      const resumed = await openRawStream(
        `${server.url}/api/trpc/chat.resume?input=${encodeURIComponent(JSON.stringify({ messageId: replyId }))}`,
        { authorization: `Bearer ${token}` },
      );
      await resumed.waitFor((event) => event.data.includes('"type":"done"'));
      expect(resumed.events.map((event) => (JSON.parse(event.data || "{}") as { text?: string }).text ?? "").join("")).toBe(text);
      lag.disable();
      expect(lag.max / 1e6).toBeLessThan(1_000); // ms; each write waited 5 s before
    } finally {
      await lock.release();
    }

    const saved = await eventually(() => (storedReply(replyId).status === "complete" ? storedReply(replyId) : null), 8_000);
    expect(saved.content).toBe(text);
    expect(await health()).toMatchObject({ status: 200, body: { ok: true, database: "ok" } });
  });
});

describe("a full disk", () => {
  it("a reply that cannot be saved still ends for its readers, is saved once there is room, and /healthz says why", async () => {
    const conversation = (await call("conversations.create", {})).body as { result: { data: { id: string } } };
    const text = "long ".repeat(4_000);
    upstream.enqueue({ kind: "reply", tokens: ["start ", text], tokenDelayMs: 300 });
    const { stream, replyId } = await streamReply(conversation.result.data.id);
    await stream.waitFor((event) => event.data.includes('"type":"delta"'));

    // SQLite's own page limit makes every write that needs a new page fail with SQLITE_FULL,
    // as a full disk does.
    const sqlite = server.database.sqlite;
    sqlite.pragma(`max_page_count = ${sqlite.pragma("page_count", { simple: true }) as number}`);
    try {
      expect(await finalEvent(stream)).toMatchObject({ type: "done" });
      expect(storedReply(replyId).status).toBe("streaming");
      expect(await health()).toMatchObject({ status: 503, body: { ok: false, database: "disk full" } });
      const refused = await call("conversations.create", { systemPrompt: "x".repeat(20_000) });
      expect(refused.status).toBe(503);
      expect(JSON.stringify(refused.body)).toContain("The server's disk is full, so nothing new can be saved. Tell an admin.");
    } finally {
      sqlite.pragma("max_page_count = 4294967294");
    }
    const saved = await eventually(() => (storedReply(replyId).status === "complete" ? storedReply(replyId) : null), 8_000);
    expect(saved.content).toBe(`start ${text}`);
    expect(await health()).toMatchObject({ status: 200, body: { ok: true } });
  });
});
