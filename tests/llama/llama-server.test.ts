import { afterEach, describe, expect, it } from "vitest";
import { collect, eventually, lastEvent, textOf, type CollectedEvent } from "../helpers/chat";
import { createTestServices, type TestServices } from "../helpers/db";
import { callerFor, createUser } from "../helpers/factories";
import { freePort, llamaUnavailable, startLlama, type LlamaServer } from "../helpers/llama";

/**
 * TeamGPT against llama.cpp's llama-server (../shared/llama): what the fake upstream imitates
 * (tests/integration/model-servers.test.ts), checked against the real thing. The model is tiny
 * and random: replies are gibberish, but every byte of the protocol is the real server's.
 */

const started: LlamaServer[] = [];
const opened: TestServices[] = [];
let logLines: Record<string, unknown>[] = [];

afterEach(async () => {
  for (const services of opened.splice(0)) await services.close();
  for (const server of started.splice(0)) server.stop();
  logLines = [];
});

async function llama(args: string[], options: Parameters<typeof startLlama>[1] = {}) {
  const server = await startLlama(["--alias", "tiny", ...args], options);
  started.push(server);
  return server;
}

/** TeamGPT pointed at a llama-server (started or to be started at `url`), a user and a conversation. */
async function teamgpt(url: string, overrides: Record<string, string> = {}) {
  const services = await createTestServices(
    {
      OPENAI_BASE_URL: url,
      OPENAI_MODELS: "tiny",
      OPENAI_FIRST_TOKEN_TIMEOUT_MS: "20000",
      OPENAI_IDLE_TIMEOUT_MS: "10000",
      ...overrides,
    },
    logLines,
  );
  opened.push(services);
  const user = await createUser(services);
  const { api } = await callerFor(services, { userId: user.id });
  const conversation = await api.conversations.create({});
  const stream = async (content: string, stopWhen?: (events: CollectedEvent[]) => boolean) =>
    collect(await api.chat.stream({ conversationId: conversation.id, content }), stopWhen);
  return { services, api, conversation, stream };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

type Start = Extract<CollectedEvent["data"], { type: "start" }>;
const reasoningOf = (events: CollectedEvent[]) => events.map((event) => (event.data.type === "reasoning" ? event.data.text : "")).join("");

describe.skipIf(llamaUnavailable)("against llama.cpp's llama-server", () => {
  it("streams a reply, stores the usage the server counted, and a long one ends marked, ready to continue", async () => {
    const server = await llama(["-c", "2048", "--temp", "0", "--ignore-eos"]);
    const { api, conversation, stream } = await teamgpt(server.url, { MAX_REPLY_TOKENS: "48" });
    const events = await stream("Tell me a story about a lighthouse keeper.");
    expect(events.filter((event) => event.data.type === "delta").length).toBeGreaterThan(1);
    const end = lastEvent(events);
    expect(end).toMatchObject({ type: "done", assistantMessage: { status: "complete", finishReason: "length", content: textOf(events) } });
    const usage = (end as Extract<typeof end, { type: "done" }>).assistantMessage.usage!;
    expect(usage).toMatchObject({ completionTokens: 48, estimated: false });
    expect(usage.promptTokens).toBeGreaterThan(5);

    const next = await api.chat.send({ conversationId: conversation.id, content: "Continue from where you stopped." });
    expect(next.assistantMessage).toMatchObject({ status: "complete", finishReason: "length" });
    // The server counted the first reply as part of the second prompt.
    expect(next.assistantMessage.usage!.promptTokens).toBeGreaterThan(usage.promptTokens + 48);
  });

  it("Stop closes the request and the server cancels its task; the tokens it spent are estimated", async () => {
    const server = await llama(["-c", "8192", "--ignore-eos"], { log: true });
    const { api, stream } = await teamgpt(server.url);
    const events = await stream("Go on for as long as you can.", (seen) => seen.filter((event) => event.data.type === "delta").length >= 3);
    const stopped = await api.chat.stop({ messageId: (events[0]!.data as Start).assistantMessage.id });
    expect(stopped).toMatchObject({ status: "stopped", usage: { estimated: true } });
    expect(stopped.content.length).toBeGreaterThan(0);
    await eventually(() => /cancel task/.test(server.log()), 10_000);
  });

  it("a reasoning model's thinking streams as its own part; all thinking and no answer says so", async () => {
    const server = await llama(["-c", "2048", "--ignore-eos"], { reasoning: true });
    const { stream } = await teamgpt(server.url, { MAX_REPLY_TOKENS: "40" });
    const events = await stream("What is 2 + 2?");
    const thought = reasoningOf(events);
    expect(thought.length).toBeGreaterThan(10);
    expect(textOf(events)).toBe("");
    expect(lastEvent(events)).toMatchObject({
      type: "error",
      message: expect.stringMatching(/^The model reached the longest reply allowed while still thinking/),
      assistantMessage: { status: "error", reasoning: thought, finishReason: "length" },
    });
  });

  it("an error in the middle of the stream (the shared context filled) keeps the text and says so", async () => {
    const server = await llama(["-c", "512", "-np", "2", "-kvu", "--ignore-eos"]);
    const first = await teamgpt(server.url, { MODEL_CONTEXT_TOKENS: "tiny=512" });
    const second = await teamgpt(server.url, { MODEL_CONTEXT_TOKENS: "tiny=512" });
    const ends = await Promise.all([first.stream("Write at length."), second.stream("Write at length too.")]).then((both) =>
      both.map(lastEvent),
    );
    const failed = ends.filter((end) => end.type === "error");
    expect(failed.length).toBeGreaterThan(0);
    for (const end of failed) {
      expect(end).toMatchObject({
        message: expect.stringMatching(
          /^The model ran out of room in its context window in the middle of the reply; the text so far is kept/,
        ),
      });
      expect(end.assistantMessage.content.length).toBeGreaterThan(0);
    }
    expect(logLines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });

  it("a conversation that outgrows a small context is trimmed to fit; a message that can never fit is refused before sending", async () => {
    const server = await llama(["-c", "256"]);
    const { api, conversation } = await teamgpt(server.url, { MAX_REPLY_TOKENS: "64" });
    const paragraph = "The harbour was quiet that morning and the boats rocked gently at their moorings. ".repeat(5);
    for (let i = 0; i < 3; i++) {
      const { assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: `${i}. ${paragraph}` });
      expect(assistantMessage).toMatchObject({ status: "complete", error: null });
    }
    // The server said how big its window is: the history was fitted to it, not refused for good.
    expect(
      logLines.some((line) => /^the model server refused a prompt as too long; now fitting prompts to 256 tokens/.test(String(line.msg))),
    ).toBe(true);
    await expect(api.chat.send({ conversationId: conversation.id, content: paragraph.repeat(4) })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^This message is about .* “tiny” can read about \d+ and still answer/),
    });
  });

  it("a server still loading its model (503) is asked again until it answers, and the person is told", async () => {
    const port = await freePort();
    const { stream } = await teamgpt(`http://127.0.0.1:${port}/v1`, { MAX_REPLY_TOKENS: "8" });
    await llama(["-c", "1048576", "-np", "1"], { noWait: true, port });
    const events = await stream("hello");
    expect(events.map((event) => event.data)).toContainEqual({
      type: "status",
      status: { phase: "loading", message: "The model server is still loading the model. Trying again…" },
    });
    expect(lastEvent(events)).toMatchObject({ type: "done", assistantMessage: { status: "complete" } });
  });

  it("a request queued behind another on a one-slot server is shown as waiting, then answered", async () => {
    const server = await llama(["-c", "8192", "-np", "1", "--ignore-eos"]);
    const busy = await teamgpt(server.url, { MAX_REPLY_TOKENS: "6000" });
    const queued = await teamgpt(server.url, { MAX_REPLY_TOKENS: "8" });
    const long = busy.stream("Write a very long essay.");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = await queued.stream("Just a word.");
    expect(events.map((event) => event.data)).toContainEqual({
      type: "status",
      status: { phase: "waiting", message: expect.stringMatching(/^Waiting for the model server/) },
    });
    expect(lastEvent(events)).toMatchObject({ type: "done" });
    await long;
  });

  it("an API key it refuses is named; a server that is gone is named without its address", async () => {
    const server = await llama(["-c", "512", "--api-key", "right-key"]);
    const wrong = await teamgpt(server.url, { OPENAI_API_KEY: "wrong-key" });
    expect(lastEvent(await wrong.stream("hi"))).toMatchObject({
      message: "The model server refused the API key. An admin should check OPENAI_API_KEY.",
    });
    const right = await teamgpt(server.url, { OPENAI_API_KEY: "right-key", MAX_REPLY_TOKENS: "4" });
    expect(lastEvent(await right.stream("hi"))).toMatchObject({ type: "done" });
    server.stop();
    await eventually(() => !isRunning(server.pid));
    const gone = lastEvent(await right.stream("hi again"));
    expect(gone).toMatchObject({ type: "error" });
    expect(JSON.stringify(gone)).not.toContain("127.0.0.1");
  });
});
