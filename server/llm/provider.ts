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
  /** Aborting it must close the upstream HTTP request. */
  signal: AbortSignal;
}

export type ProviderEvent = { type: "delta"; text: string } | { type: "usage"; promptTokens: number; completionTokens: number };

export interface ChatProvider {
  stream(request: CompletionRequest): AsyncIterable<ProviderEvent>;
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
    readonly details: { status?: number; retryAfterSeconds?: number; detail?: string } = {},
  ) {
    super(message);
  }
}
