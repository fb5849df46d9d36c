import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAppRuntime } from "../../server/app-runtime";
import { openDatabase } from "../../server/db/client";
import { messages } from "../../server/db/schema";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { eventually } from "../helpers/chat";
import { removeDatabaseFile, testEnv } from "../helpers/db";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { paths } from "../../server/paths";
import { ROOT } from "../helpers/paths";
import { openRawStream } from "../helpers/sse";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

let upstream: FakeUpstream;
const processes: ChildProcess[] = [];
const files: string[] = [];

beforeAll(async () => {
  ({ upstream } = await startTestUpstream());
});
afterAll(() => upstream.close());
afterEach(() => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const file of files.splice(0)) removeDatabaseFile(file);
});

/** The real server as its own process, as `npm start` runs it. */
async function startProcess(databaseUrl: string) {
  const child = spawn(process.execPath, [paths.serverBundle], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...upstreamEnv(upstream),
      NODE_ENV: "test",
      DATABASE_URL: databaseUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      RATE_LIMITS: "off",
      SHUTDOWN_GRACE_MS: "600",
      MODEL_TITLES: "off",
      // The test reads the start-up lines (info) and the setup link (warn).
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  processes.push(child);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = await eventually(() => output.match(/listening on (http:\/\/\S+)/)?.[1]?.replace("localhost", "127.0.0.1"), 20_000);
  return { child, url, output: () => output };
}

async function seededDatabase() {
  const env = testEnv();
  files.push(env.DATABASE_URL);
  const database = openDatabase(env.DATABASE_URL);
  const { services, close } = await createAppRuntime(database.db, { ...env, OPENAI_BASE_URL: upstream.url });
  const user = await createUser(services);
  await close();
  database.close();
  return { file: env.DATABASE_URL, username: user.username };
}

async function api(url: string, token: string | null, path: string, input: unknown) {
  const response = await fetch(`${url}/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(input),
  });
  return ((await response.json()) as { result: { data: Record<string, unknown> } }).result.data;
}

/** Starts a reply over SSE and returns once `deltas` deltas arrived; the stream stays open. */
async function startReply(url: string, token: string, conversationId: string, deltas: number) {
  const controller = new AbortController();
  const response = await fetch(
    `${url}/api/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify({ conversationId, content: "go on" }))}`,
    {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    },
  );
  const reader = response.body!.getReader();
  let text = "";
  while ((text.match(/"type":"delta"/g) ?? []).length < deltas) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const replyId = text.match(/"assistantMessage":\{"id":"([0-9a-z]+)"/)![1]!;
  return { replyId, close: () => controller.abort() };
}

function storedMessages(file: string) {
  const database = openDatabase(file);
  try {
    return database.db.select().from(messages).all();
  } finally {
    database.close();
  }
}

describe("stopping the server", () => {
  it("a fresh install prints a one-time link that makes the first admin", async () => {
    const env = testEnv();
    files.push(env.DATABASE_URL);
    const { url, output } = await startProcess(env.DATABASE_URL);
    const link = await eventually(() => output().match(/No admin yet\. Create the first one at (http\S+?token=[0-9a-z]+)/)?.[1], 5_000);
    const token = new URL(link).searchParams.get("token")!;
    const created = await api(url, null, "auth.setup", {
      token,
      username: "boss",
      password: "a long password",
      confirmPassword: "a long password",
    });
    expect(created.user).toMatchObject({ username: "boss", role: "admin" });
  });

  it("on SIGTERM: running replies get a grace period, the rest are saved as interrupted, exit 0", async () => {
    const { file, username } = await seededDatabase();
    const server = await startProcess(file);
    const { token } = (await api(server.url, null, "auth.login", { username, password: TEST_PASSWORD })) as { token: string };
    const slowChat = (await api(server.url, token, "conversations.create", {})) as { id: string };
    const quickChat = (await api(server.url, token, "conversations.create", {})) as { id: string };

    upstream.enqueue({ kind: "reply", text: "slow ".repeat(100), tokenDelayMs: 50 });
    const slow = await startReply(server.url, token, slowChat.id, 3);
    upstream.enqueue({ kind: "reply", text: "quick ".repeat(10), tokenDelayMs: 30 });
    const quick = await startReply(server.url, token, quickChat.id, 1);
    // Someone else following the slow reply, in another tab.
    const follower = await openRawStream(
      `${server.url}/api/trpc/chat.resume?input=${encodeURIComponent(JSON.stringify({ messageId: slow.replyId }))}`,
      { authorization: `Bearer ${token}` },
    );
    await follower.waitFor((event) => event.data.includes('"type":"delta"'));

    server.child.kill("SIGTERM");
    const [code] = (await once(server.child, "exit")) as [number];
    slow.close();
    quick.close();
    // The last event, the reply saved as interrupted, went out before the connection closed.
    await follower.closed;
    const last = JSON.parse(follower.events.filter((event) => event.event === "message").at(-1)!.data) as {
      type: string;
      assistantMessage: { status: string };
    };
    expect(last).toMatchObject({ type: "error", assistantMessage: { status: "interrupted" } });
    expect(code, server.output()).toBe(0);
    expect(server.output()).toContain("Stopped cleanly.");

    const rows = storedMessages(file);
    const slowReply = rows.find((row) => row.id === slow.replyId)!;
    expect(slowReply.status).toBe("interrupted");
    expect(slowReply.content).toMatch(/^(slow )+$/);
    expect(slowReply.content.length).toBeLessThan("slow ".repeat(100).length);
    expect(rows.find((row) => row.id === quick.replyId)).toMatchObject({ status: "complete", content: "quick ".repeat(10) });
  });

  it("after SIGKILL mid-reply, the next start marks the reply interrupted and keeps every earlier message", async () => {
    const { file, username } = await seededDatabase();
    const first = await startProcess(file);
    const { token } = (await api(first.url, null, "auth.login", { username, password: TEST_PASSWORD })) as { token: string };
    const chat = (await api(first.url, token, "conversations.create", {})) as { id: string };
    upstream.enqueue({ kind: "reply", text: "An earlier, complete answer." });
    await api(first.url, token, "chat.send", { conversationId: chat.id, content: "first question" });
    upstream.enqueue({ kind: "reply", text: "partial ".repeat(100), tokenDelayMs: 30 });
    const reply = await startReply(first.url, token, chat.id, 45); // past the one-second checkpoint

    first.child.kill("SIGKILL");
    await once(first.child, "exit");
    reply.close();

    const second = await startProcess(file);
    const rows = storedMessages(file).filter((row) => row.conversationId === chat.id);
    expect(rows.map((row) => [row.role, row.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
      ["user", "complete"],
      ["assistant", "interrupted"],
    ]);
    expect(rows[1]!.content).toBe("An earlier, complete answer.");
    expect(rows[3]!.content).toMatch(/^(partial )+/);
    second.child.kill("SIGTERM");
    expect((await once(second.child, "exit"))[0]).toBe(0);
  });
});
