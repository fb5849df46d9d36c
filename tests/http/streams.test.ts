import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../server/db/schema";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { eventually } from "../helpers/chat";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { startTestServer, type TestServer } from "../helpers/server";
import { openRawStream, streamError, type RawStream } from "../helpers/sse";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

let upstream: FakeUpstream;
let server: TestServer;
beforeAll(async () => {
  ({ upstream } = await startTestUpstream());
  server = await startTestServer(
    upstreamEnv(upstream, {
      RATE_LIMITS: "on",
      MAX_STREAMS_PER_USER: "3",
      MAX_OPEN_STREAMS: "5",
      MAX_RUNNING_REPLIES: "10",
      MESSAGES_PER_MINUTE: "100",
    }),
  );
});
afterAll(async () => {
  await server.stop();
  await upstream.close();
});

async function call(path: string, token: string | null, input: unknown) {
  const response = await fetch(`${server.url}/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { result?: { data: Record<string, unknown> }; error?: { message: string } };
  if (!body.result) throw new Error(body.error?.message);
  return body.result.data;
}

async function signIn(username: string) {
  return (await call("auth.login", null, { username, password: TEST_PASSWORD })).token as string;
}

/** A reply that keeps writing for a while, followed over SSE. */
async function slowReply(token: string): Promise<{ messageId: string; stream: RawStream }> {
  const conversation = await call("conversations.create", token, {});
  upstream.enqueue({ kind: "reply", text: "slowly ".repeat(100), tokenDelayMs: 50 });
  const input = encodeURIComponent(JSON.stringify({ conversationId: conversation.id, content: "take your time" }));
  const stream = await openRawStream(`${server.url}/api/trpc/chat.stream?input=${input}`, { authorization: `Bearer ${token}` });
  const start = await stream.waitFor((event) => event.data.includes('"type":"start"'));
  return { messageId: (JSON.parse(start.data) as { assistantMessage: { id: string } }).assistantMessage.id, stream };
}

function follow(messageId: string, token: string): Promise<RawStream> {
  const input = encodeURIComponent(JSON.stringify({ messageId }));
  return openRawStream(`${server.url}/api/trpc/chat.resume?input=${input}`, { authorization: `Bearer ${token}` });
}

const refusal = (event: { event: string }) => event.event === "serialized-error";

/** The server sees a closed stream a moment after the client closes it: follow again until a place is free. */
async function followOnceFreed(messageId: string, token: string): Promise<RawStream> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const stream = await follow(messageId, token);
    const first = await stream.waitFor((event) => event.event === "connected" || refusal(event));
    if (first.event === "connected") return stream;
    stream.close();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the closed stream never freed its place");
}

describe("open streams", () => {
  it("are capped per person: the excess is refused with TOO_MANY_REQUESTS, and a closed one frees its place", async () => {
    const user = await createUser(server.services);
    const token = await signIn(user.username);
    const { messageId, stream } = await slowReply(token);
    const more = [await follow(messageId, token), await follow(messageId, token)];
    for (const open of more) await open.waitFor((event) => event.event === "connected");

    const excess = await follow(messageId, token);
    const refused = await excess.waitFor(refusal);
    expect(streamError(refused)).toEqual({
      code: "TOO_MANY_REQUESTS",
      message: "You have 3 replies open in other tabs or windows. Close some of them and try again.",
    });
    await excess.closed;

    more[0]!.close();
    await more[0]!.closed;
    const again = await followOnceFreed(messageId, token);
    await again.waitFor((event) => event.data.includes('"type":"delta"'));
    for (const open of [stream, more[1]!, again]) open.close();
  });

  it("are capped for everyone together", async () => {
    const opened: RawStream[] = [];
    const users = await Promise.all([1, 2].map(() => createUser(server.services)));
    const tokens = await Promise.all(users.map((user) => signIn(user.username)));
    const first = await slowReply(tokens[0]!);
    opened.push(first.stream);
    const second = await slowReply(tokens[1]!);
    opened.push(second.stream);
    for (let i = 0; i < 2; i++) opened.push(await follow(first.messageId, tokens[0]!));
    opened.push(await follow(second.messageId, tokens[1]!));
    for (const open of opened) await open.waitFor((event) => event.event === "connected");

    const sixth = await follow(second.messageId, tokens[1]!);
    expect(streamError(await sixth.waitFor(refusal))).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    for (const open of opened) open.close();
    await Promise.all(opened.map((open) => open.closed));
  });
});

describe("a chat.send waiting for its reply", () => {
  it("holds a place like a stream does: resending to wait on a running reply cannot get around the cap", async () => {
    const user = await createUser(server.services);
    const token = await signIn(user.username);
    const conversation = await call("conversations.create", token, {});
    upstream.enqueue({ kind: "reply", text: "slowly ".repeat(60), tokenDelayMs: 50 });
    const input = { conversationId: conversation.id, content: "take your time", clientMessageId: "the-same-message" };
    const waiting = [call("chat.send", token, input), call("chat.send", token, input), call("chat.send", token, input)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(call("chat.send", token, input)).rejects.toThrow(
      "You have 3 replies open in other tabs or windows. Close some of them and try again.",
    );
    const answers = await Promise.all(waiting);
    expect(answers.map((answer) => (answer.assistantMessage as { status: string }).status)).toEqual(["complete", "complete", "complete"]);
  });

  it("ends when access ends", async () => {
    const user = await createUser(server.services);
    const here = await signIn(user.username);
    const elsewhere = await signIn(user.username);
    const conversation = await call("conversations.create", elsewhere, {});
    upstream.enqueue({ kind: "reply", text: "slowly ".repeat(60), tokenDelayMs: 50 });
    const waiting = call("chat.send", elsewhere, { conversationId: conversation.id, content: "a long answer, please" }).then(
      () => null,
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await call("auth.changePassword", here, {
      currentPassword: TEST_PASSWORD,
      newPassword: "another secret",
      confirmPassword: "another secret",
    });
    expect(await waiting).toBe("Your password was changed, so this session ended. Log in again with the new password.");
  });
});

describe("ending access ends streams at once", () => {
  it("disabling an account closes its streams and stops its replies", async () => {
    const admin = await createUser(server.services, { role: "admin" });
    const adminToken = await signIn(admin.username);
    const user = await createUser(server.services);
    const { messageId, stream } = await slowReply(await signIn(user.username));
    await stream.waitFor((event) => event.data.includes('"type":"delta"'));

    await call("admin.users.setDisabled", adminToken, { userId: user.id, disabled: true });
    const ended = await stream.waitFor(refusal, 1_000);
    expect(streamError(ended)).toEqual({ code: "UNAUTHORIZED", message: "Your account was disabled. Ask an admin to enable it." });
    await stream.closed;
    const reply = await eventually(() => {
      const row = server.services.db.select().from(messages).where(eq(messages.id, messageId)).get();
      return row?.status === "stopped" ? row : null;
    });
    expect(reply.content.length).toBeGreaterThan(0);
  });

  it("changing the password closes the other sessions' streams, not this one's", async () => {
    const user = await createUser(server.services);
    const here = await signIn(user.username);
    const elsewhere = await signIn(user.username);
    const { messageId, stream: mine } = await slowReply(here);
    const theirs = await follow(messageId, elsewhere);
    await theirs.waitFor((event) => event.data.includes('"type":"delta"'));

    await call("auth.changePassword", here, {
      currentPassword: TEST_PASSWORD,
      newPassword: "another secret",
      confirmPassword: "another secret",
    });
    expect(streamError(await theirs.waitFor(refusal, 1_000))).toMatchObject({ code: "UNAUTHORIZED" });
    const deltasBefore = mine.events.length;
    await mine.waitFor((event) => mine.events.indexOf(event) > deltasBefore + 1);
    expect(mine.events.some(refusal)).toBe(false);
    mine.close();
  });

  it("logging out closes that session's streams", async () => {
    const user = await createUser(server.services);
    const token = await signIn(user.username);
    const { stream } = await slowReply(token);
    await call("auth.logout", token, {});
    expect(streamError(await stream.waitFor(refusal, 1_000))).toMatchObject({
      code: "UNAUTHORIZED",
      message: expect.stringContaining("You logged out"),
    });
  });
});
