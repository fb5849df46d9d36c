import OpenAI from "openai";
import { createHttpFetch } from "./http-fetch";
import type { ChatProvider, CompletionRequest, ProviderEvent } from "./provider";
import { ProviderError } from "./provider";

export interface OpenAIProviderOptions {
  apiKey: string | undefined;
  baseURL: string | undefined;
}

/** Chat Completions streaming through the official SDK, against any OpenAI-compatible server. */
export function createOpenAIProvider(options: OpenAIProviderOptions): ChatProvider {
  const client = new OpenAI({
    // Local servers (Ollama, llama.cpp) need no key, but the SDK insists on one.
    apiKey: options.apiKey ?? "no-key-needed",
    baseURL: options.baseURL,
    // Retrying would hide failures and delay the first token; a person can press Retry.
    maxRetries: 0,
    // Generation enforces its own first-token and idle timeouts.
    timeout: 3_600_000,
    fetch: createHttpFetch(),
  });
  const where = options.baseURL ?? "OpenAI";

  return {
    async *stream({ model, messages, signal }: CompletionRequest): AsyncIterable<ProviderEvent> {
      let stream;
      try {
        stream = await client.chat.completions.create(
          { model, messages, stream: true, stream_options: { include_usage: true } },
          { signal },
        );
      } catch (error) {
        throw describeFailure(error, model, where);
      }
      try {
        for await (const chunk of stream) {
          const text = chunk.choices[0]?.delta?.content;
          if (text) yield { type: "delta", text };
          if (chunk.usage) {
            yield { type: "usage", promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        throw describeFailure(error, model, where);
      }
    },
  };
}

function describeFailure(error: unknown, model: string, where: string): unknown {
  if (error instanceof OpenAI.APIUserAbortError) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return new ProviderError(`Could not reach the model server (${where}). Check that it is running, then try again.`);
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    const status = error.status;
    if (status === 401) return new ProviderError("The model server refused the API key. An admin should check OPENAI_API_KEY.", { status });
    if (status === 403) return new ProviderError(`The model server does not allow this API key to use “${model}”.`, { status });
    if (status === 404) return new ProviderError(`The model server does not know the model “${model}”. Pick another model.`, { status });
    if (status === 429) {
      const retryAfterSeconds = retryAfter(error.headers);
      const when = retryAfterSeconds ? `try again in ${retryAfterSeconds} s` : "try again in a moment";
      return new ProviderError(`Rate-limited by the provider, ${when}.`, { status, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
    }
    if (status >= 500) return new ProviderError(`The model server failed (HTTP ${status}). Try again in a moment.`, { status });
    return new ProviderError(
      `The model server rejected the request (HTTP ${status}): ${error.error ? errorText(error.error) : error.message}`,
      { status },
    );
  }
  if (error instanceof Error && /terminated|socket|ECONNRESET|premature/i.test(`${error.message} ${String(error.cause)}`)) {
    return new ProviderError("The connection to the model server dropped in the middle of the reply. Try again.");
  }
  return error;
}

function retryAfter(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after-ms");
  if (value && Number(value) > 0) return Math.ceil(Number(value) / 1000);
  const seconds = headers?.get("retry-after");
  if (!seconds) return undefined;
  const asNumber = Number(seconds);
  if (Number.isFinite(asNumber) && asNumber > 0) return Math.ceil(asNumber);
  const date = Date.parse(seconds);
  return Number.isNaN(date) ? undefined : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

function errorText(body: object): string {
  const message = (body as { message?: unknown }).message;
  return typeof message === "string" ? message : JSON.stringify(body).slice(0, 300);
}
