import { describe, expect, it } from "vitest";
import { fitPrompt, ModelLimits, PromptTooLongError, type ContextLimits } from "../../server/llm/context-window";
import { ThinkTagSplitter, type ContentPart } from "../../server/llm/think-tags";
import { estimateTokens } from "../../server/llm/tokens";
import { loadEnv } from "../../server/env";

function split(chunks: string[]): { reasoning: string; text: string } {
  const splitter = new ThinkTagSplitter();
  const parts: ContentPart[] = [...chunks.flatMap((chunk) => splitter.push(chunk)), ...splitter.end()];
  const of = (type: ContentPart["type"]) =>
    parts
      .filter((part) => part.type === type)
      .map((part) => part.text)
      .join("");
  return { reasoning: of("reasoning"), text: of("delta") };
}

/** Every way of cutting `text` in two and three pieces. */
function cuts(text: string): string[][] {
  const all: string[][] = [[text]];
  for (let i = 1; i < text.length; i++) {
    all.push([text.slice(0, i), text.slice(i)]);
    for (let j = i + 1; j < text.length; j += 3) all.push([text.slice(0, i), text.slice(i, j), text.slice(j)]);
  }
  return all;
}

describe("<think> at the start of the content", () => {
  it("splits thinking from the answer however the chunks fall", () => {
    for (const chunks of cuts("  <think>a < b</thin</think>\n\nAnswer <think>x</think>")) {
      expect(split(chunks)).toEqual({ reasoning: "a < b</thin", text: "Answer <think>x</think>" });
    }
  });

  it("leaves content alone that does not start with it", () => {
    for (const text of ["<thinking aloud>", "Hi <think>no</think>", "<", "", "  \n", "<th"]) {
      expect(split(cuts(text)[0]!)).toEqual({ reasoning: "", text });
    }
  });

  it("a block never closed is all thinking", () => {
    expect(split(["<think>", "still going", " </thi"])).toEqual({ reasoning: "still going </thi", text: "" });
  });
});

describe("token estimates", () => {
  it("count English near one token a word, and stay fast on text the tokenizer is slowest on", () => {
    expect(estimateTokens("The quick brown fox jumps over the lazy dog.")).toBe(10);
    // One 90,000-character piece without spaces took 53 s to count whole.
    const started = performance.now();
    expect(estimateTokens("漢字かなカナ한국어".repeat(10_000))).toBeGreaterThan(60_000);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

const limits = (contextTokens: number, maxReplyTokens = 8192): ContextLimits => ({
  model: "m",
  contextTokens,
  maxReplyTokens,
  tokenRatio: 1,
});
const turn = (role: "user" | "assistant", words: number) => ({ role, content: "word ".repeat(words).trim() });

describe("fitting a prompt to a context window", () => {
  it("keeps a quarter of the window for the reply, drops the oldest turns, and never starts at a reply", () => {
    // Newest first, as the database reads them.
    const history = [turn("assistant", 200), turn("user", 200), turn("assistant", 200), turn("user", 200)];
    const plan = fitPrompt({ system: "Be brief.", question: "word ".repeat(100), history }, limits(1000));
    // 750 for the prompt: system ~7, question ~104, +3, then ~204 a turn: three fit, and the oldest of them is a reply.
    expect(plan.messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(plan.promptTokens).toBeLessThanOrEqual(750);
    // What the prompt leaves, less a margin of 1% + 8 for an estimate a little low.
    expect(plan.maxTokens).toBe(1000 - plan.promptTokens - 18);
  });

  it("asks for at most the longest reply configured", () => {
    expect(fitPrompt({ system: null, question: "hi", history: [] }, limits(100_000, 4096)).maxTokens).toBe(4096);
  });

  it("refuses a question that leaves no room for a reply, saying how big it is and what fits", () => {
    expect(() => fitPrompt({ system: null, question: "word ".repeat(900), history: [] }, limits(1000))).toThrow(PromptTooLongError);
    expect(() => fitPrompt({ system: null, question: "word ".repeat(900), history: [] }, limits(1000))).toThrow(
      /^This message is about 9\d\d tokens .* “m” can read about 750 and still answer/,
    );
  });

  it("reads only as much history as fits", () => {
    let read = 0;
    function* history() {
      for (;;) {
        read++;
        yield turn("user", 50);
      }
    }
    fitPrompt({ system: null, question: "hi", history: history() }, limits(2000));
    expect(read).toBeLessThan(40);
  });
});

describe("model limits", () => {
  const env = loadEnv({ MODEL_CONTEXT_TOKENS: "32768,tiny=512", MODEL_FIRST_TOKEN_TIMEOUT_MS: "qwq:32b=300000" });

  it("are configured per model, with a default", () => {
    const models = new ModelLimits(env);
    expect(models.limitsFor("tiny").contextTokens).toBe(512);
    expect(models.limitsFor("other").contextTokens).toBe(32768);
    expect(models.firstTokenTimeoutMs("qwq:32b")).toBe(300_000);
    expect(models.firstTokenTimeoutMs("other")).toBe(60_000);
  });

  /** A prompt fitted to a model's current limits, as the server refused it. */
  const refusedPlan = (
    models: ModelLimits,
    model: string,
    tokens: { promptTokens: number; estimatedTokens: number; maxTokens: number },
  ) => ({
    messages: [],
    ...tokens,
    limits: models.limitsFor(model),
  });

  it("learn a smaller window and the server's way of counting from a refusal, within bounds", () => {
    const models = new ModelLimits(env);
    const refused = refusedPlan(models, "big", { promptTokens: 4400, estimatedTokens: 4000, maxTokens: 100 });
    expect(models.learn("big", refused, { contextTokens: 4096, promptTokens: 5000 })).toBe(true);
    expect(models.limitsFor("big")).toMatchObject({ contextTokens: 4096, tokenRatio: 1.3125 });
    // The same refusal of a prompt fitted to the new limits teaches nothing: no second retry.
    const again = refusedPlan(models, "big", { promptTokens: 4400, estimatedTokens: 4000, maxTokens: 100 });
    expect(models.learn("big", again, { contextTokens: 4096, promptTokens: 5000 })).toBe(false);
    // A short prompt's count is mostly the template's: it does not move the ratio.
    const short = refusedPlan(models, "short", { promptTokens: 11, estimatedTokens: 10, maxTokens: 100 });
    expect(models.learn("short", short, { promptTokens: 400 })).toBe(false);
    expect(models.limitsFor("short").tokenRatio).toBe(1.1);
  });

  it("a second reply refused with the same words before the first learned still gets its retry", () => {
    const models = new ModelLimits(env);
    const first = refusedPlan(models, "big", { promptTokens: 9000, estimatedTokens: 8000, maxTokens: 8192 });
    const second = refusedPlan(models, "big", { promptTokens: 9000, estimatedTokens: 8000, maxTokens: 8192 });
    expect(models.learn("big", first, { contextTokens: 4096 })).toBe(true);
    expect(models.learn("big", second, { contextTokens: 4096 })).toBe(true);
    expect(models.limitsFor("big").contextTokens).toBe(4096);
  });

  it("a refusal within the window the server states means it counts more: the margin grows", () => {
    const models = new ModelLimits(env);
    const refused = refusedPlan(models, "big", { promptTokens: 20000, estimatedTokens: 18182, maxTokens: 8192 });
    expect(models.learn("big", refused, { contextTokens: 32768 })).toBe(true);
    expect(models.limitsFor("big").tokenRatio).toBeCloseTo(1.375);
  });

  it("a server that says nothing shrinks the window below the request it refused, never to nothing", () => {
    const models = new ModelLimits(env);
    // 450 tokens of prompt asking for 8,192 of reply from a 4,096 window (the prompt alone fit).
    const refused = refusedPlan(models, "mute", { promptTokens: 450, estimatedTokens: 409, maxTokens: 8192 });
    expect(models.learn("mute", refused, {})).toBe(true);
    expect(models.limitsFor("mute").contextTokens).toBe(Math.floor((450 + 8192) * 0.75));
    const tiny = refusedPlan(models, "tiny", { promptTokens: 100, estimatedTokens: 90, maxTokens: 100 });
    expect(models.learn("tiny", tiny, {})).toBe(true);
    expect(models.limitsFor("tiny").contextTokens).toBe(256);
  });

  it("refuse a malformed setting, naming it", () => {
    expect(() => loadEnv({ MODEL_CONTEXT_TOKENS: "tiny=lots" })).toThrow(/MODEL_CONTEXT_TOKENS: expected tokens from 256/);
    expect(() => loadEnv({ MODEL_CONTEXT_TOKENS: "=512" })).toThrow(/MODEL_CONTEXT_TOKENS/);
  });
});
