import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLoad } from "../../bench/load";
import { messages } from "../../server/db/schema";
import { tokenize, type FakeUpstream } from "../../server/llm/fake-upstream";
import { createLogger } from "../../server/logger";
import { createUser, TEST_PASSWORD } from "../helpers/factories";
import { startTestServer, type TestServer } from "../helpers/server";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

const logged: string[] = [];
let upstream: FakeUpstream;
let server: TestServer;

beforeAll(async () => {
  ({ upstream } = await startTestUpstream({ tokenDelayMs: 5 }));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString());
      done();
    },
  });
  server = await startTestServer(upstreamEnv(upstream), { logger: createLogger({ NODE_ENV: "test", LOG_LEVEL: "warn" }, sink) });
});
afterAll(async () => {
  await server.stop();
  await upstream.close();
});

describe("under load", () => {
  it("100 concurrent streamed chats and a burst of logins complete with no error and no locked database", async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => createUser(server.services)));
    const tokens = await Promise.all(
      users.slice(0, 10).map(async (user) => {
        const response = await fetch(`${server.url}/api/trpc/auth.login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }),
        });
        return ((await response.json()) as { result: { data: { token: string } } }).result.data.token;
      }),
    );
    const reply = Array.from({ length: 32 }, (_, i) => `token${i}`).join(" ");
    for (let i = 0; i < 100; i++) upstream.enqueue({ kind: "reply", text: reply, tokenDelayMs: 5 });

    const result = await runLoad({
      url: server.url,
      tokens,
      streams: 100,
      logins: users.slice(10).flatMap((user) => [1, 2, 3].map(() => ({ username: user.username, password: TEST_PASSWORD }))),
      expectedReply: reply,
    });

    expect(result.errors).toEqual([]);
    expect(result.completed).toBe(100);
    expect(result.loginsOk).toBe(30);
    const replies = server.services.db
      .select()
      .from(messages)
      .all()
      .filter((row) => row.role === "assistant");
    expect(replies).toHaveLength(100);
    expect(replies.every((row) => row.status === "complete" && tokenize(row.content).length === 32)).toBe(true);
    expect(logged.join("")).not.toMatch(/locked|SQLITE_BUSY/i);
    expect(logged.filter((line) => (JSON.parse(line) as { level: number }).level >= 50)).toEqual([]);
  });
});
