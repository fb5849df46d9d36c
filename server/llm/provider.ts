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
  /** Aborting it must close the upstream HTTP request. */
  signal: AbortSignal;
}

export type ProviderEvent = { type: "delta"; text: string } | { type: "usage"; promptTokens: number; completionTokens: number };

export interface ChatProvider {
  stream(request: CompletionRequest): AsyncIterable<ProviderEvent>;
}

/** A failure of the model server, worded for the person waiting for the reply. */
export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    message: string,
    readonly details: { status?: number; retryAfterSeconds?: number } = {},
  ) {
    super(message);
  }
}
