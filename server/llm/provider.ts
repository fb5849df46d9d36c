import type { FinishReason } from "../db/schema";

/**
 * What generation needs from a model server. The OpenAI-compatible implementation is the
 * only one in production; the interface keeps generation testable and provider-neutral.
 */
export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface CompletionRequest {
  model: string;
  messages: ChatTurn[];
  /** The longest reply to ask for, in tokens. */
  maxTokens: number;
  /** Sent only when set: otherwise the server's default. */
  temperature?: number;
  /** Aborting it must close the upstream HTTP request. */
  signal: AbortSignal;
}

export type ProviderEvent =
  /** The server answered with a stream (it may still be reading the prompt). */
  | { type: "accepted" }
  /** Answer text. */
  | { type: "delta"; text: string }
  /** A reasoning model's thinking (`reasoning_content`, `reasoning`, or a leading `<think>` block). */
  | { type: "reasoning"; text: string }
  /** Why the model ended: `length` when it hit `maxTokens` or the context window. */
  | { type: "finish"; reason: FinishReason | "other" }
  | { type: "usage"; promptTokens: number; completionTokens: number };

export interface ChatProvider {
  stream(request: CompletionRequest): AsyncIterable<ProviderEvent>;
  /** The models the server lists (`GET /v1/models`); a ProviderError in words a person can act on. */
  listModels(signal: AbortSignal): Promise<string[]>;
}

/**
 * A failure of the model server. The message is for the person waiting for the reply: what
 * they (or an admin) can do. `detail` is for the log only: the server's own words and address,
 * which can be long, confusing, or reveal internal addresses.
 */
export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    message: string,
    readonly details: ProviderErrorDetails = {},
  ) {
    super(message);
  }
}

export interface ProviderErrorDetails {
  status?: number;
  retryAfterSeconds?: number;
  detail?: string;
  /**
   * `loading`: the server is starting or loading the model (503), worth asking again shortly.
   * `context`: the prompt did not fit the model's context window; the server's numbers, when it
   * gave them, say how big the window is and how it counted the prompt.
   */
  reason?: "loading" | "context";
  contextTokens?: number;
  promptTokens?: number;
}
