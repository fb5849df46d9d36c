import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { createLogger } from "../../server/logger";
import { eventually } from "../helpers/chat";
import { createKey, createUser } from "../helpers/factories";
import { logInOverHttp, startTestServer, type TestServer } from "../helpers/server";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
let upstream: FakeUpstream;
let server: TestServer;

beforeAll(async () => {
  ({ upstream } = await startTestUpstream());
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ NODE_ENV: "test", LOG_LEVEL: "info" }, sink);
  server = await startTestServer(upstreamEnv(upstream), { logger });
});
afterAll(async () => {
  await server.stop();
  await upstream.close();
});

describe("logs", () => {
  it("say who called which procedure and how long it took, and never passwords, tokens, keys or messages", async () => {
    const password = "hunter2-very-secret";
    const key = createKey(server.services);
    const call = (path: string, body: unknown, token?: string) =>
      fetch(`${server.url}/api/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).then((response) => response.json() as Promise<{ result: { data: Record<string, unknown> } }>);

    const registered = await call("auth.register", { username: "logged", password, confirmPassword: password, registrationKey: key });
    const token = registered.result.data.token as string;
    const conversation = await call("conversations.create", {}, token);
    upstream.enqueue({ kind: "reply", text: "SECRET-REPLY-TEXT" });
    await call("chat.send", { conversationId: conversation.result.data.id, content: "SECRET-QUESTION-TEXT" }, token);
    await call("auth.login", { username: "logged", password: "wrong-but-secret" });

    const procedures = lines.filter((line) => line.msg === "procedure" || line.msg === "procedure refused");
    const send = procedures.find((line) => line.procedure === "chat.send")!;
    expect(send).toMatchObject({ type: "mutation", userId: expect.any(String), requestId: expect.any(String), ms: expect.any(Number) });
    expect(procedures.find((line) => line.procedure === "auth.login")).toMatchObject({ code: "UNAUTHORIZED" });
    // The request line is written when the response has finished, a moment after the client has it.
    const request = await eventually(() => lines.find((line) => line.msg === "request" && line.path === "/api/trpc/chat.send"));
    expect(request).toMatchObject({ method: "POST", status: 200, requestId: send.requestId, userId: send.userId });

    const everything = raw.join("");
    for (const secret of [password, "wrong-but-secret", token, key, "SECRET-QUESTION-TEXT", "SECRET-REPLY-TEXT"]) {
      expect(everything).not.toContain(secret);
    }
  });

  it("an unexpected failure of a page is one JSON line with its request id, never a multi-line stack trace", async () => {
    const user = await createUser(server.services);
    const cookie = (await logInOverHttp(server.url, user.username)).jar.header();
    const errorsBefore = lines.filter((line) => line.level === 50).length;
    // A broken database, as a bug or a hand-edited schema would leave it.
    server.services.db.$client.exec("alter table conversations rename to conversations_moved");
    try {
      const page = await fetch(`${server.url}/`, { headers: { cookie } });
      expect(page.status).toBe(500);
    } finally {
      server.services.db.$client.exec("alter table conversations_moved rename to conversations");
    }
    const failure = await eventually(() => lines.slice(errorsBefore).find((line) => line.msg === "page request failed"));
    expect(failure).toMatchObject({ requestId: expect.any(String), err: { message: expect.stringContaining("no such table") } });
    for (const line of raw) expect(line.trimEnd().includes("\n")).toBe(false);
  });
});
