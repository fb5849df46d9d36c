import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { createHttpFetch, OversizedEventError } from "./http-fetch";
import { ThinkTagSplitter } from "./think-tags";
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
    // The SDK would print what it could not parse (the model server's words) outside the JSON
    // logs; the failure reaches describeFailure, which logs it as one line.
    logLevel: "off",
    fetch: createHttpFetch(),
  });
  const where = options.baseURL ?? "OpenAI";
  const lengthName = lengthLimitParameter(options.baseURL);
  const lengthLimit = (maxTokens: number) => ({ [lengthName]: maxTokens });

  return {
    async listModels(signal: AbortSignal): Promise<string[]> {
      try {
        const ids: string[] = [];
        for await (const model of client.models.list({ signal })) {
          if (typeof model.id === "string") ids.push(model.id);
          if (ids.length >= 10_000) break;
        }
        return ids;
      } catch (error) {
        if (signal.aborted) throw new ProviderError("The model server did not list its models in time.", { detail: `${where}: no answer` });
        throw describeFailure(error, "(listing models)", where);
      }
    },

    async *stream({ model, messages, maxTokens, temperature, signal }: CompletionRequest): AsyncIterable<ProviderEvent> {
      let stream;
      try {
        const sampling = temperature === undefined ? {} : { temperature };
        const answer = await client.chat.completions
          .create(
            { model, messages, stream: true, stream_options: { include_usage: true }, ...lengthLimit(maxTokens), ...sampling },
            { signal },
          )
          .withResponse();
        requireEventStream(answer.response, where);
        stream = answer.data;
      } catch (error) {
        throw describeFailure(error, model, where);
      }
      yield { type: "accepted" };
      const thinkTags = new ThinkTagSplitter();
      try {
        for await (const chunk of stream) yield* eventsOf(chunk, thinkTags);
        yield* thinkTags.end();
      } catch (error) {
        if (signal.aborted) return;
        throw describeFailure(error, model, where);
      }
    },
  };
}

/** What one chunk says. Only what the protocol says may be there: a server can send anything. */
function* eventsOf(chunk: ChatCompletionChunk, thinkTags: ThinkTagSplitter): Generator<ProviderEvent> {
  const choice = chunk.choices?.[0];
  // Fields some servers add to OpenAI's delta.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: the SDK's Delta has neither field
  const delta = choice?.delta as (ChatCompletionChunk.Choice.Delta & { reasoning_content?: unknown; reasoning?: unknown }) | undefined;
  // llama.cpp, vLLM and DeepSeek name it reasoning_content; Ollama and OpenRouter reasoning.
  const reasoning = delta?.reasoning_content ?? delta?.reasoning;
  if (typeof reasoning === "string" && reasoning) yield { type: "reasoning", text: reasoning };
  const text = delta?.content;
  if (typeof text === "string" && text) yield* thinkTags.push(text);
  const finish: unknown = choice?.finish_reason;
  if (typeof finish === "string" && finish) {
    yield* thinkTags.end();
    yield { type: "finish", reason: finish === "stop" || finish === "length" ? finish : "other" };
  }
  const promptTokens = tokenCount(chunk.usage?.prompt_tokens);
  const completionTokens = tokenCount(chunk.usage?.completion_tokens);
  if (promptTokens !== null && completionTokens !== null) yield { type: "usage", promptTokens, completionTokens };
}

/**
 * The name of the longest-reply parameter a server understands: OpenAI's own API refuses
 * `max_tokens` for its reasoning models and asks for `max_completion_tokens`; Ollama, LM Studio
 * and older servers know only `max_tokens` (llama.cpp and vLLM take both).
 */
export function lengthLimitParameter(baseURL: string | undefined): "max_tokens" | "max_completion_tokens" {
  return !baseURL || new URL(baseURL).hostname === "api.openai.com" ? "max_completion_tokens" : "max_tokens";
}

/**
 * A streamed completion answers with an event stream. A proxy's login or error page (200,
 * text/html) would otherwise read as a reply with no words, saved as complete.
 */
function requireEventStream(response: Response, where: string): void {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream")) return;
  void response.body?.cancel().catch(() => {});
  throw new ProviderError(
    "The model server answered with something that is not a reply. An admin should check its address and any proxy in front of it.",
    {
      status: response.status,
      detail: `${where} answered HTTP ${response.status} with content-type "${type || "none"}" instead of an event stream`,
    },
  );
}

function tokenCount(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function describeFailure(error: unknown, model: string, where: string): unknown {
  if (error instanceof OpenAI.APIUserAbortError || error instanceof ProviderError) return error;
  if (error instanceof SyntaxError || (error instanceof Error && error.cause instanceof OversizedEventError)) {
    return new ProviderError("The model server sent a malformed reply. Try again; if it keeps happening, tell an admin.", {
      detail: `${where}: ${error.message.slice(0, 300)}`,
    });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new ProviderError("Could not reach the model server. Try again in a moment; if it keeps failing, tell an admin.", {
      detail: `${where}: ${error.cause === undefined ? error.message : causeText(error.cause)}`,
    });
  }
  // `data: {"error":…}` in the middle of a stream (llama.cpp when its context fills up).
  // The SDK types an error's body and headers as `any`: read them as what they are.
  const body: unknown = error instanceof OpenAI.APIError ? error.error : undefined;
  const headers: unknown = error instanceof OpenAI.APIError ? error.headers : undefined;
  const responseHeaders = headers instanceof Headers ? headers : undefined;
  if (error instanceof OpenAI.APIError && error.status === undefined && isObject(body)) {
    return inStreamFailure(body, where);
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    const status = error.status;
    const serverText = (isObject(body) ? errorText(body) : error.message).slice(0, 500);
    const detail = `${where} answered HTTP ${status}: ${serverText}`;
    if (status === 503) {
      const loading = /loading/i.test(serverText);
      return new ProviderError(
        loading ? "The model server is still loading the model." : `The model server is unavailable (HTTP 503). Try again in a moment.`,
        { status, detail, reason: "loading", ...retryAfterOf(responseHeaders) },
      );
    }
    if (status === 401)
      return new ProviderError("The model server refused the API key. An admin should check OPENAI_API_KEY.", { status, detail });
    if (status === 403) return new ProviderError(`The model server does not allow this API key to use “${model}”.`, { status, detail });
    if (status === 404)
      return new ProviderError(`The model server does not know the model “${model}”. Pick another model.`, { status, detail });
    if (status === 429) {
      const retryAfterSeconds = retryAfter(responseHeaders);
      const when = retryAfterSeconds ? `try again in ${retryAfterSeconds} s` : "try again in a moment";
      return new ProviderError(`Rate-limited by the provider, ${when}.`, {
        status,
        detail,
        ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
      });
    }
    if (status >= 500) return new ProviderError(`The model server failed (HTTP ${status}). Try again in a moment.`, { status, detail });
    const context = contextNumbers(body, serverText);
    if (context) return new ProviderError(TOO_LONG_FOR_MODEL, { status, detail, reason: "context", ...context });
    return new ProviderError(refusalMessage(status, detail), { status, detail });
  }
  if (error instanceof Error && /terminated|socket|ECONNRESET|premature/i.test(`${error.message} ${causeText(error.cause)}`)) {
    return new ProviderError("The connection to the model server dropped in the middle of the reply. Try again.", {
      detail: `${where}: ${error.message} ${causeText(error.cause)}`,
    });
  }
  return error;
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

/** An error's cause in words ("SocketError: other side closed"), or nothing. */
function causeText(cause: unknown): string {
  if (cause === undefined || cause === null) return "";
  if (cause instanceof Error) return String(cause);
  return typeof cause === "string" ? cause : JSON.stringify(cause);
}

const TOO_LONG_FOR_MODEL = "The conversation is too long for this model. Start a new conversation, or send a shorter message.";

/**
 * The context window and the prompt's size in tokens, from a refusal that says the prompt is
 * too long: llama.cpp sends them as fields, OpenAI and vLLM in words.
 */
function contextNumbers(body: unknown, text: string): { contextTokens?: number; promptTokens?: number } | null {
  if (!CONTEXT_TOO_SMALL.test(text)) return null;
  const fields = (typeof body === "object" && body !== null ? body : {}) as { n_ctx?: unknown; n_prompt_tokens?: unknown };
  const contextTokens =
    tokenCount(fields.n_ctx) ?? firstNumber(text, [/maximum context length is (\d+)/i, /available context size \((\d+) tokens\)/i]);
  const promptTokens =
    tokenCount(fields.n_prompt_tokens) ??
    firstNumber(text, [
      /(\d+) in the messages/i,
      /requested (\d+) tokens in the messages/i,
      /(\d+) input tokens/i,
      /messages resulted in (\d+) tokens/i,
      /request \((\d+) tokens\)/i,
    ]);
  return { ...(contextTokens ? { contextTokens } : {}), ...(promptTokens ? { promptTokens } : {}) };
}

const CONTEXT_TOO_SMALL =
  /context[ _]?(length|size|window)|maximum context|too many tokens|exceeds the (available )?context|prompt is too long/i;

function firstNumber(text: string, patterns: RegExp[]): number | null {
  for (const pattern of patterns) {
    const match = text.match(pattern);
    if (match) return Number(match[1]);
  }
  return null;
}

/**
 * An error the server sent inside the stream, after part of the reply: the text so far is
 * kept, and the person reads what the server said. Its words go in quotes, cut short, with
 * addresses taken out (they are for the log).
 */
function inStreamFailure(body: object, where: string): ProviderError {
  const text = errorText(body).slice(0, 500);
  const detail = `${where} sent an error in the stream: ${text}`;
  if (/context (size|length|window)|exceeds the (available )?context/i.test(text)) {
    return new ProviderError(
      "The model ran out of room in its context window in the middle of the reply; the text so far is kept. Start a new conversation, or ask for a shorter answer.",
      { detail, reason: "context" },
    );
  }
  const quoted = withoutAddresses(text).replace(/\s+/g, " ").trim().slice(0, 200);
  return new ProviderError(
    `The model server stopped the reply with an error${quoted ? `: “${quoted}”` : ""}. The text so far is kept; try again.`,
    { detail },
  );
}

function withoutAddresses(text: string): string {
  return (
    text
      .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "[address]")
      .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "[address]")
      // IPv6, but not a time of day: a `::`, or five groups and more.
      .replace(/\[?[0-9a-f]*(:[0-9a-f]*){2,7}\]?/gi, (match) =>
        match.includes("::") || match.split(":").length >= 5 ? "[address]" : match,
      )
      // host:port, and names only a private network resolves.
      .replace(/\b(?=[\w.-]*[a-z])[\w.-]+:\d{2,5}\b/gi, "[address]")
      .replace(/\b[\w-]+(\.[\w-]+)*\.(internal|local|lan|corp|home|intranet|svc)\b/gi, "[address]")
      .replace(/(?:\/[\w.@-]+){2,}\/?/g, "[path]")
  );
}

/**
 * A request the model server refused (4xx), in words a person can act on. Its own text can be
 * long, technical or reveal internal details: known reasons are named, the rest goes to the log.
 */
function refusalMessage(status: number, detail: string): string {
  if (CONTEXT_TOO_SMALL.test(detail)) return TOO_LONG_FOR_MODEL;
  if (/content[ _]?(policy|filter|management)|safety system|flagged/i.test(detail)) {
    return "The model provider refused this request under its content policy.";
  }
  if (/quota|billing|credit|insufficient[ _]funds/i.test(detail) || status === 402) {
    return "The model provider's account has run out of credit or quota. Tell an admin.";
  }
  return `The model server rejected the request (HTTP ${status}). Try again; if it keeps failing, an admin can find the reason in the server's log.`;
}

function retryAfterOf(headers: Headers | undefined): { retryAfterSeconds?: number } {
  const seconds = retryAfter(headers);
  return seconds ? { retryAfterSeconds: seconds } : {};
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
