import { describe, expect, it } from "vitest";
import { lengthLimitParameter } from "../../server/llm/openai-provider";

describe("the longest reply is asked for by the name the server knows", () => {
  it("max_completion_tokens for OpenAI's own API (its reasoning models refuse max_tokens)", () => {
    expect(lengthLimitParameter(undefined)).toBe("max_completion_tokens");
    expect(lengthLimitParameter("https://api.openai.com/v1")).toBe("max_completion_tokens");
  });

  it("max_tokens for any other OpenAI-compatible server (Ollama and LM Studio know only that)", () => {
    expect(lengthLimitParameter("http://127.0.0.1:11434/v1")).toBe("max_tokens");
    expect(lengthLimitParameter("https://openrouter.ai/api/v1")).toBe("max_tokens");
  });
});
