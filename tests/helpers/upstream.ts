import { startFakeUpstream, type FakeUpstream } from "../../server/llm/fake-upstream";

export const FAKE_API_KEY = "sk-test-teamgpt";
export const FAKE_MODELS = ["fake-small", "fake-large"];

/** The fake OpenAI-compatible server on 127.0.0.1, and the environment that points TeamGPT at it. */
export async function startTestUpstream(options: { tokenDelayMs?: number } = {}) {
  const upstream = await startFakeUpstream({ apiKey: FAKE_API_KEY, models: FAKE_MODELS, tokenDelayMs: options.tokenDelayMs ?? 0 });
  return { upstream, env: upstreamEnv(upstream) };
}

export function upstreamEnv(upstream: FakeUpstream, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_BASE_URL: upstream.url,
    OPENAI_API_KEY: FAKE_API_KEY,
    OPENAI_MODELS: FAKE_MODELS.join(","),
    OPENAI_FIRST_TOKEN_TIMEOUT_MS: "1500",
    OPENAI_IDLE_TIMEOUT_MS: "700",
    ...overrides,
  };
}
