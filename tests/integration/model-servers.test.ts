import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tokenize, type FakeUpstream } from "../../server/llm/fake-upstream";
import { collect, lastEvent, textOf, type CollectedEvent } from "../helpers/chat";
import { createTestServices } from "../helpers/db";
import { callerFor, createUser } from "../helpers/factories";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

/**
 * What servers other than OpenAI's send (llama.cpp, vLLM, Ollama): thinking, errors inside the
 * stream, replies cut at the length limit, a model still loading, a queue. The fake upstream
 * sends each as llama.cpp does (tests/llama runs the same against the real server).
 */

let upstream: FakeUpstream;
const opened: { close(): Promise<void> }[] = [];
let logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  ({ upstream } = await startTestUpstream());
});
afterAll(() => upstream.close());
afterEach(async () => {
  upstream.reset();
  logLines = [];
  for (const services of opened.splice(0)) await services.close();
});

/** Services over a fresh database whose logs the test can read, a user, and a conversation. */
async function chatting(overrides: Record<string, string> = {}) {
  const services = await createTestServices({ ...upstreamEnv(upstream), ...overrides }, logLines);
  opened.push(services);
  const user = await createUser(services);
  const { api } = await callerFor(services, { userId: user.id });
  const conversation = await api.conversations.create({});
  const stream = async (content: string) => collect(await api.chat.stream({ conversationId: conversation.id, content }));
  return { services, api, conversation, stream };
}

const reasoningOf = (events: CollectedEvent[]) => events.map((event) => (event.data.type === "reasoning" ? event.data.text : "")).join("");

const THOUGHT = "The user greets me. I should greet them back, briefly and kindly.";
const ANSWER = "Hello! How can I help you today?";

describe("reasoning models", () => {
  it.each(["reasoning_content", "reasoning"] as const)(
    "thinking sent as %s streams as its own part before the answer, is stored with it, and never goes back upstream",
    async (reasoningField) => {
      const { api, conversation, stream } = await chatting();
      upstream.enqueue({ kind: "reply", reasoning: THOUGHT, reasoningField, text: ANSWER, tokenDelayMs: 2 });
      const events = await stream("hi");
      expect(reasoningOf(events)).toBe(THOUGHT);
      expect(textOf(events)).toBe(ANSWER);
      const firstAnswer = events.findIndex((event) => event.data.type === "delta");
      const lastThought = events.findLastIndex((event) => event.data.type === "reasoning");
      expect(lastThought).toBeLessThan(firstAnswer);
      expect(lastEvent(events)).toMatchObject({
        type: "done",
        assistantMessage: { status: "complete", content: ANSWER, reasoning: THOUGHT, reasoningMs: expect.any(Number) },
      });

      await api.chat.send({ conversationId: conversation.id, content: "and again" });
      const history = upstream.requests.at(-1)!.messages;
      expect(history).toEqual([
        { role: "user", content: "hi" },
        { role: "assistant", content: ANSWER },
        { role: "user", content: "and again" },
      ]);
    },
  );

  it("a <think> block at the start of the content is the same thing, whatever the chunk boundaries", async () => {
    const { stream } = await chatting();
    const whole = `<think>\n${THOUGHT}\n</think>\n\n${ANSWER}`;
    // One character a chunk: every tag arrives split.
    upstream.enqueue({ kind: "reply", tokens: [...whole] });
    const events = await stream("hi");
    // The blank line after `<think>` opens no thinking of its own.
    expect(reasoningOf(events)).toBe(`${THOUGHT}\n`);
    expect(textOf(events)).toBe(ANSWER);
  });

  it("a reconnect mid-thought resumes both parts at the exact character", async () => {
    const { api, conversation } = await chatting();
    upstream.enqueue({ kind: "reply", reasoning: THOUGHT.repeat(3), text: ANSWER, tokenDelayMs: 10 });
    const before = await collect(
      await api.chat.stream({ conversationId: conversation.id, content: "hi" }),
      (seen) => seen.filter((event) => event.data.type === "reasoning").length >= 3,
    );
    const lastEventId = before.at(-1)!.id;
    expect(lastEventId).toMatch(/^[0-9a-z]+:0\.\d+$/);
    const start = before[0]!.data as Extract<CollectedEvent["data"], { type: "start" }>;
    const after = await collect(await api.chat.resume({ messageId: start.assistantMessage.id, lastEventId }));
    expect(reasoningOf(before) + reasoningOf(after)).toBe(THOUGHT.repeat(3));
    expect(textOf(after)).toBe(ANSWER);
    // Once saved, the same position resumes the same way from the database.
    const again = await collect(await api.chat.resume({ messageId: start.assistantMessage.id, lastEventId }));
    expect(reasoningOf(before) + reasoningOf(again)).toBe(THOUGHT.repeat(3));
    expect(textOf(again)).toBe(ANSWER);
  });

  it("thinking is activity: 1.5 s of it does not trip a 0.5 s first-token timeout", async () => {
    const { stream } = await chatting({ OPENAI_FIRST_TOKEN_TIMEOUT_MS: "500" });
    upstream.enqueue({ kind: "reply", reasoning: "hmm ".repeat(30), text: ANSWER, tokenDelayMs: 50 });
    const events = await stream("think hard");
    expect(lastEvent(events)).toMatchObject({ type: "done", assistantMessage: { status: "complete", content: ANSWER } });
  });

  it("a reply that was all thinking until the length limit is no empty 'complete': it says so and keeps the thinking", async () => {
    const { stream } = await chatting();
    upstream.enqueue({ kind: "reply", reasoning: THOUGHT, text: "", finishReason: "length" });
    const end = lastEvent(await stream("hi"));
    expect(end).toMatchObject({
      type: "error",
      message:
        "The model reached the longest reply allowed while still thinking, before it wrote an answer. Try again, ask a simpler question, or pick another model.",
      assistantMessage: { status: "error", reasoning: THOUGHT, content: "", finishReason: "length" },
    });
  });
});

describe("what else real servers send", () => {
  it("finish_reason length marks the reply, which stays usable history", async () => {
    const { api, conversation, stream } = await chatting();
    upstream.enqueue({ kind: "reply", text: "The first half of a long", finishReason: "length" });
    expect(lastEvent(await stream("tell me everything"))).toMatchObject({
      type: "done",
      assistantMessage: { status: "complete", finishReason: "length" },
    });
    await api.chat.send({ conversationId: conversation.id, content: "Continue from where you stopped." });
    expect(upstream.requests.at(-1)!.messages.at(-2)).toEqual({ role: "assistant", content: "The first half of a long" });
    const stored = (await api.conversations.get({ id: conversation.id })).messages;
    expect(stored.at(-1)).toMatchObject({ status: "complete", finishReason: "stop" });
  });

  it("an error inside the stream keeps the partial text and says what the server said, without a stack trace", async () => {
    const { stream } = await chatting();
    upstream.enqueue({ kind: "stream-error", afterTokens: 4, text: ANSWER });
    const events = await stream("hi");
    expect(textOf(events)).toBe(tokenize(ANSWER).slice(0, 4).join(""));
    expect(lastEvent(events)).toMatchObject({
      type: "error",
      message:
        "The model ran out of room in its context window in the middle of the reply; the text so far is kept. Start a new conversation, or ask for a shorter answer.",
      assistantMessage: { status: "error", content: textOf(events), usage: { estimated: true } },
    });

    upstream.enqueue({ kind: "stream-error", afterTokens: 2, message: "CUDA out of memory on http://10.0.0.7:8000/v1 (device 0)" });
    expect(lastEvent(await stream("again"))).toMatchObject({
      message:
        "The model server stopped the reply with an error: “CUDA out of memory on [address] (device 0)”. The text so far is kept; try again.",
    });
    const warnings = logLines.filter((line) => line.level === 40 && typeof line.detail === "string");
    expect(warnings.map((line) => line.detail)).toEqual([
      expect.stringContaining("Context size has been exceeded."),
      expect.stringContaining("http://10.0.0.7:8000/v1"),
    ]);
    expect(logLines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });

  it("a server loading its model (503) is asked again, and the person sees it is loading", async () => {
    const { stream } = await chatting({ OPENAI_FIRST_TOKEN_TIMEOUT_MS: "5000" });
    const loading = { kind: "status", status: 503, message: "Loading model" } as const;
    upstream.enqueue(loading, loading, { kind: "reply", text: ANSWER });
    const events = await stream("hi");
    expect(events.filter((event) => event.data.type === "status").map((event) => event.data)).toContainEqual({
      type: "status",
      status: { phase: "loading", message: "The model server is still loading the model. Trying again…" },
    });
    expect(lastEvent(events)).toMatchObject({ type: "done", assistantMessage: { status: "complete", content: ANSWER } });
    expect(upstream.requests).toHaveLength(3);
  });

  it("a server that was loading and then names a smaller window gets both retries", async () => {
    const { stream } = await chatting({ OPENAI_FIRST_TOKEN_TIMEOUT_MS: "5000" });
    const loading = { kind: "status", status: 503, message: "Loading model" } as const;
    const tooLong = {
      kind: "status",
      status: 400,
      message: "request (9000 tokens) exceeds the available context size (4096 tokens), try increasing it",
    } as const;
    upstream.enqueue(loading, loading, tooLong, { kind: "reply", text: ANSWER });
    expect(lastEvent(await stream("hi"))).toMatchObject({ type: "done", assistantMessage: { content: ANSWER } });
    expect(upstream.requests.at(-1)!.maxTokens!.value).toBeLessThan(4096);
  });

  it("thinking that passes the longest a reply may be, with no answer, says so instead of offering Continue", async () => {
    const { stream } = await chatting({ MAX_REPLY_CHARS: "1000" });
    upstream.enqueue({ kind: "reply", reasoning: "and then I considered ".repeat(100), text: ANSWER });
    expect(lastEvent(await stream("hi"))).toMatchObject({
      type: "error",
      message: expect.stringMatching(/^The model reached the longest reply allowed while still thinking/),
      assistantMessage: { content: "", finishReason: "length", reasoning: expect.stringMatching(/^and then I considered/) },
    });
  });

  it("a server that keeps loading ends at the first-token timeout, saying it was loading", async () => {
    const { stream } = await chatting({ OPENAI_FIRST_TOKEN_TIMEOUT_MS: "1200" });
    for (let i = 0; i < 10; i++) upstream.enqueue({ kind: "status", status: 503, message: "Loading model" });
    expect(lastEvent(await stream("hi"))).toMatchObject({
      type: "error",
      message: expect.stringMatching(/^The model server was still loading the model after 1\.2 s\./),
    });
  });

  it("a queued request (no headers yet) tells people it is waiting; the first-token timeout is per model", async () => {
    const { api, conversation, stream } = await chatting({
      OPENAI_FIRST_TOKEN_TIMEOUT_MS: "5000",
      MODEL_FIRST_TOKEN_TIMEOUT_MS: "fake-large=1000",
    });
    upstream.enqueue({ kind: "reply", text: ANSWER, headersDelayMs: 2_500 });
    const events = await stream("hi");
    expect(events.map((event) => event.data)).toContainEqual({
      type: "status",
      status: { phase: "waiting", message: expect.stringMatching(/^Waiting for the model server/) },
    });
    expect(lastEvent(events)).toMatchObject({ type: "done", assistantMessage: { content: ANSWER } });

    upstream.enqueue({ kind: "reply", text: ANSWER, headersDelayMs: 1_500 });
    const large = await collect(await api.chat.stream({ conversationId: conversation.id, content: "hi", model: "fake-large" }));
    expect(lastEvent(large)).toMatchObject({
      type: "error",
      message: "The model server did not start answering within 1 s. Try again, or pick another model.",
    });
  });

  it("a stopped reply stores an estimate of the tokens the server spent, marked estimated", async () => {
    const { api, conversation } = await chatting();
    upstream.enqueue({ kind: "reply", text: "word ".repeat(400), tokenDelayMs: 5 });
    const events = await collect(await api.chat.stream({ conversationId: conversation.id, content: "go on and on" }), (seen) =>
      seen.some((event) => event.data.type === "delta"),
    );
    const start = events[0]!.data as Extract<CollectedEvent["data"], { type: "start" }>;
    const stopped = await api.chat.stop({ messageId: start.assistantMessage.id });
    expect(stopped.status).toBe("stopped");
    expect(stopped.usage).toMatchObject({ estimated: true, promptTokens: expect.any(Number) });
    expect(stopped.usage!.completionTokens).toBeGreaterThan(0);
  });
});

describe("the admin's view of the model server", () => {
  it("shows each model's limits and what the server said when it failed, which people never see", async () => {
    const { services, api, stream } = await chatting({ MODEL_CONTEXT_TOKENS: "16384,fake-large=4096" });
    upstream.enqueue({ kind: "stream-error", afterTokens: 2, message: "CUDA out of memory on http://10.0.0.7:8000/v1 (device 0)" });
    const end = lastEvent(await stream("hi"));
    expect(JSON.stringify(end)).not.toContain("10.0.0.7");

    await expect(api.admin.models.status()).rejects.toMatchObject({ code: "FORBIDDEN" });
    const admin = await createUser(services, { role: "admin" });
    const { api: adminApi } = await callerFor(services, { userId: admin.id });
    const status = await adminApi.admin.models.status();
    expect(status.server).toBe(upstream.url);
    expect(status.models).toEqual([
      { id: "fake-small", contextTokens: 16384, configuredContextTokens: 16384, tokenRatio: 1.1, firstTokenTimeoutMs: 1500 },
      { id: "fake-large", contextTokens: 4096, configuredContextTokens: 4096, tokenRatio: 1.1, firstTokenTimeoutMs: 1500 },
    ]);
    expect(status.problems).toEqual([
      {
        at: expect.any(String),
        model: "fake-small",
        message: (end as Extract<typeof end, { type: "error" }>).message,
        detail: expect.stringContaining("CUDA out of memory on http://10.0.0.7:8000/v1"),
      },
    ]);
  });
});
