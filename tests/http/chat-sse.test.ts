import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { EventSource } from "eventsource";
import { describe, expect, it } from "vitest";
import { createTeamGPTClient, loginTeamGPT, type TeamGPTClient } from "../../client";
import { tokenize } from "../../server/llm/fake-upstream";
import { eventually } from "../helpers/chat";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { ROOT } from "../helpers/paths";
import { useProductionServer } from "../helpers/server";

const suite = useProductionServer();

const REPLY = Array.from({ length: 24 }, (_, i) => `word${i}`).join(" ");

async function signedInClient(): Promise<{ client: TeamGPTClient; token: string; conversationId: string }> {
  const user = await createUser(suite.server.services);
  const { client, token } = await loginTeamGPT(suite.server.url, { username: user.username, password: TEST_PASSWORD });
  const conversation = await client.conversations.create.mutate({});
  return { client, token, conversationId: conversation.id };
}

function streamUrl(input: Record<string, unknown>) {
  return `${suite.server.url}/api/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify(input))}`;
}

interface SseEvent {
  id: string;
  data: { type: string; text?: string; assistantMessage?: { id: string; content: string; status: string } };
}

/** Reads raw SSE from the server with a bearer token, as a script in any language would. */
function readSse(
  url: string,
  token: string,
  until: (events: SseEvent[]) => boolean,
  headers: Record<string, string> = {},
): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}`, ...headers } }),
    });
    source.onmessage = (message) => {
      events.push({ id: message.lastEventId, data: JSON.parse(String(message.data)) as SseEvent["data"] });
      if (until(events)) {
        source.close();
        resolve(events);
      }
    };
    source.onerror = (error) => {
      source.close();
      reject(new Error(`SSE failed: ${error.message ?? "unknown"}`));
    };
  });
}

const textOf = (events: SseEvent[]) => events.map((event) => event.data.text ?? "").join("");
const ended = (events: SseEvent[]) => ["done", "error"].includes(events.at(-1)?.data.type ?? "");

describe("replies stream to clients over SSE through the real server", () => {
  it("the first delta arrives while the upstream is still sending", async () => {
    const { client, conversationId } = await signedInClient();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 40 });
    const started = performance.now();
    const firstDelta = await new Promise<{ ms: number; tokensSentUpstream: number }>((resolve, reject) => {
      const subscription = client.chat.stream.subscribe(
        { conversationId, content: "count for me" },
        {
          onData: ({ data }) => {
            if (data.type !== "delta") return;
            resolve({ ms: performance.now() - started, tokensSentUpstream: suite.upstream.requests.at(-1)!.tokensSent });
            subscription.unsubscribe();
          },
          onError: reject,
        },
      );
    });
    const total = tokenize(REPLY).length;
    expect(firstDelta.tokensSentUpstream).toBeLessThan(total / 2);
    expect(firstDelta.ms).toBeLessThan(total * 40 * 0.5);
  });

  it("the typed client gets start, deltas and done, equal to what is stored", async () => {
    const { client, conversationId } = await signedInClient();
    suite.upstream.enqueue({ kind: "reply", text: REPLY });
    const received: string[] = [];
    const done = await new Promise<{ content: string; status: string }>((resolve, reject) => {
      const subscription = client.chat.stream.subscribe(
        { conversationId, content: "hi", clientMessageId: randomUUID() },
        {
          onData: ({ data }) => {
            received.push(data.type);
            if (data.type === "done") {
              subscription.unsubscribe();
              resolve(data.assistantMessage);
            }
          },
          onError: reject,
        },
      );
    });
    expect(received[0]).toBe("start");
    expect(done).toMatchObject({ content: REPLY, status: "complete" });
    const stored = await client.conversations.get.query({ id: conversationId });
    expect(stored.messages[1]!.content).toBe(REPLY);
  });

  it("a message too long for a stream's URL starts by POST (chat.start) and is followed with chat.resume", async () => {
    const { client, token, conversationId } = await signedInClient();
    // 5,000 CJK characters: 45 KB once URL-encoded, past Node's 16 KB for a request line (and nginx's 8 KB).
    const content = "中".repeat(5_000);
    const refused = await fetch(streamUrl({ conversationId, content }), { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(431);

    suite.upstream.enqueue({ kind: "reply", text: REPLY });
    const started = await client.chat.start.mutate({ conversationId, content, clientMessageId: randomUUID() });
    expect(started.userMessage.content).toBe(content);
    expect(started.assistantMessage.status).toBe("streaming");
    const events = await readSse(
      `${suite.server.url}/api/trpc/chat.resume?input=${encodeURIComponent(JSON.stringify({ messageId: started.assistantMessage.id }))}`,
      token,
      (seen) => seen.some((event) => event.data.type === "done"),
    );
    expect(events[0]!.data.type).toBe("start");
    expect(events.at(-1)!.data.assistantMessage).toMatchObject({ id: started.assistantMessage.id, content: REPLY, status: "complete" });
    // The model was asked with the whole message.
    expect(suite.upstream.requests.at(-1)?.messages.at(-1)?.content).toBe(content);
  });

  it("a dropped connection loses nothing, and a reconnect with the last event id resumes exactly after it", async () => {
    const { token, conversationId } = await signedInClient();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 15 });
    const input = { conversationId, content: "go" };
    const firstPart = await readSse(
      streamUrl(input),
      token,
      (events) => events.filter((event) => event.data.type === "delta").length === 5,
    );
    const replyId = firstPart[0]!.data.assistantMessage!.id;

    const rest = await readSse(streamUrl({ ...input, lastEventId: firstPart.at(-1)!.id }), token, ended);
    expect(rest[0]!.data.type).toBe("delta");
    expect(textOf(firstPart) + textOf(rest)).toBe(REPLY);
    expect(suite.upstream.requests.filter((request) => request.messages.at(-1)!.content === "go")).toHaveLength(1);

    const resumeUrl = `${suite.server.url}/api/trpc/chat.resume?input=${encodeURIComponent(JSON.stringify({ messageId: replyId }))}`;
    const fromHeader = await readSse(resumeUrl, token, ended, { "last-event-id": firstPart.at(-1)!.id });
    expect(textOf(firstPart) + textOf(fromHeader)).toBe(REPLY);
  });

  it("event streams are neither compressed nor cached", async () => {
    const { token, conversationId } = await signedInClient();
    const controller = new AbortController();
    const response = await fetch(streamUrl({ conversationId, content: "headers?" }), {
      headers: { authorization: `Bearer ${token}`, "accept-encoding": "gzip, br" },
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    controller.abort();
  });

  it("a stream that cannot start says why, with the right code, and logs nothing", async () => {
    const owner = await signedInClient();
    const intruder = await signedInClient();
    const response = await fetch(streamUrl({ conversationId: owner.conversationId, content: "let me in" }), {
      headers: { authorization: `Bearer ${intruder.token}` },
    });
    const body = await response.text();
    expect(body).toContain("event: serialized-error");
    expect(body).toContain('"code":"NOT_FOUND"');
    expect(body).toContain("That conversation does not exist, or it is not yours.");
  });

  it("a cross-site page cannot start a reply with the visitor's cookie", async () => {
    const user = await createUser(suite.server.services);
    const login = await fetch(`${suite.server.url}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
    });
    const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
    const client = createTeamGPTClient({
      url: suite.server.url,
      token: ((await login.json()) as { result: { data: { token: string } } }).result.data.token,
    });
    const { id } = await client.conversations.create.mutate({});
    const response = await fetch(streamUrl({ conversationId: id, content: "from evil.example" }), {
      headers: { cookie, "sec-fetch-site": "cross-site" },
    });
    const body = await response.text();
    expect(body).toContain("FORBIDDEN");
    expect((await client.conversations.get.query({ id })).messages).toEqual([]);
  });
});

describe("the chat page", () => {
  async function browserCookie() {
    const user = await createUser(suite.server.services);
    const login = await fetch(`${suite.server.url}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
    });
    return login.headers.getSetCookie()[0]!.split(";")[0]!;
  }

  it("without JavaScript, an empty or refused message is shown again with the reason, and makes no conversation", async () => {
    const cookie = await browserCookie();
    const post = (path: string, content: string) =>
      fetch(`${suite.server.url}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, origin: suite.server.origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ content }),
      });
    const before = (await fetch(`${suite.server.url}/`, { headers: { cookie } }).then((page) => page.text())).length;
    const empty = await post("/?index", "   ");
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Write a message first.");
    const tooLong = await post("/?index", "x".repeat(100_001));
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toContain("Keep the message under 100,000 characters.");
    // No conversation was made (not even one deleted afterwards): the sidebar is as before.
    expect((await fetch(`${suite.server.url}/`, { headers: { cookie } }).then((page) => page.text())).length).toBe(before);

    const conversation = await post("/?index", "A first message");
    const id = conversation.headers.get("location")!.split("/c/")[1]!;
    const emptyHere = await post(`/c/${id}`, "");
    expect(emptyHere.status).toBe(400);
    expect(await emptyHere.text()).toContain("Write a message first.");
  });

  it("works without JavaScript: the composer posts and the page shows the whole reply", async () => {
    const cookie = await browserCookie();
    suite.upstream.enqueue({ kind: "reply", text: "A reply **rendered** on the suite.server." });
    const posted = await fetch(`${suite.server.url}/?index`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie, origin: suite.server.origin, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ content: "No script here" }),
    });
    expect(posted.status).toBe(302);
    const page = await fetch(`${suite.server.url}${posted.headers.get("location")}`, { headers: { cookie } });
    const html = await page.text();
    expect(html).toContain("<strong>rendered</strong>");
    expect(html).toContain("No script here");
  });

  it("a conversation that is missing or someone else's is a 404 page", async () => {
    const response = await fetch(`${suite.server.url}/c/nosuchconversation`, { headers: { cookie: await browserCookie() } });
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("That conversation does not exist, or it is not yours.");
  });
});

describe("the typed client example", () => {
  it("logs in, starts a conversation and prints the reply as it streams", async () => {
    const user = await createUser(suite.server.services);
    suite.upstream.enqueue({ kind: "reply", text: "Hello from the fake model." });
    // Asynchronously: the server under test runs in this very process.
    const result = await promisify(execFile)("npm", ["run", "-s", "example:client", "--", "Say", "hello"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TEAMGPT_URL: suite.server.url, TEAMGPT_USERNAME: user.username, TEAMGPT_PASSWORD: TEST_PASSWORD },
      timeout: 30_000,
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("Hello from the fake model.\n");
    await eventually(() => suite.upstream.requests.some((request) => request.messages.at(-1)!.content === "Say hello"));
  });

  it("a wrong password is one readable line and exit status 1, not a stack trace", async () => {
    const user = await createUser(suite.server.services);
    const failed = await promisify(execFile)("npm", ["run", "-s", "example:client", "--", "hi"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TEAMGPT_URL: suite.server.url, TEAMGPT_USERNAME: user.username, TEAMGPT_PASSWORD: "not the password" },
      timeout: 30_000,
    }).then(
      () => null,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr.trim()).toBe(`TeamGPT at ${suite.server.url}: Wrong username or password.`);
    expect(failed?.stdout).toBe("");
  });
});
