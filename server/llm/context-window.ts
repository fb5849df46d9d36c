import type { Env } from "../env";
import type { ChatTurn } from "./provider";
import { estimateTokens, TOKENS_BEFORE_REPLY, TOKENS_PER_MESSAGE } from "./tokens";

/**
 * What fits in a model's context window: the history sent with a message is trimmed by an
 * estimate of tokens (tokens.ts) against the window, leaving room for the reply.
 */

export type ModelLimitsEnv = Pick<
  Env,
  "MODEL_CONTEXT_TOKENS" | "MODEL_FIRST_TOKEN_TIMEOUT_MS" | "OPENAI_FIRST_TOKEN_TIMEOUT_MS" | "MAX_REPLY_TOKENS"
>;

export interface ContextLimits {
  model: string;
  contextTokens: number;
  /** The longest reply to ask for. */
  maxReplyTokens: number;
  /** The model's tokens per estimated token: more than 1 leaves a margin for another tokenizer. */
  tokenRatio: number;
}

export interface PromptPlan {
  messages: ChatTurn[];
  /** The prompt's size as the model will count it (estimated). */
  promptTokens: number;
  /** The same, as the estimate counted it (before tokenRatio). */
  estimatedTokens: number;
  /** The longest reply to ask for: what is left of the window, at most maxReplyTokens. */
  maxTokens: number;
}

/** The margin for tokenizers other than the estimate's, until the server says how it counts. */
const DEFAULT_TOKEN_RATIO = 1.1;
/** Room always left for a reply, however full the window. */
const MIN_REPLY_TOKENS = 256;
/** The server's count is compared with the estimate only for prompts at least this long… */
const MIN_TOKENS_TO_COMPARE = 200;
/** …and the estimate is never taken to be off by more than this. */
const MAX_TOKEN_RATIO = 2;
/** A window whose size the server did not say is shrunk to this share of the prompt it refused. */
const SHRINK_UNSAID = 0.75;

/** Per-model context windows and first-token timeouts: configured, then corrected by what servers say. */
export class ModelLimits {
  private readonly learned = new Map<string, { contextTokens?: number; tokenRatio?: number }>();

  constructor(private readonly env: ModelLimitsEnv) {}

  limitsFor(model: string): ContextLimits {
    const learned = this.learned.get(model);
    const configured = this.env.MODEL_CONTEXT_TOKENS.models[model] ?? this.env.MODEL_CONTEXT_TOKENS.default;
    return {
      model,
      contextTokens: Math.min(configured, learned?.contextTokens ?? Infinity),
      maxReplyTokens: this.env.MAX_REPLY_TOKENS,
      tokenRatio: learned?.tokenRatio ?? DEFAULT_TOKEN_RATIO,
    };
  }

  /** For admins: the window configured and the one in use (smaller when a server said so). */
  describe(model: string) {
    const { contextTokens, tokenRatio } = this.limitsFor(model);
    const configured = this.env.MODEL_CONTEXT_TOKENS.models[model] ?? this.env.MODEL_CONTEXT_TOKENS.default;
    return {
      contextTokens,
      configuredContextTokens: configured,
      tokenRatio: Math.round(tokenRatio * 100) / 100,
      firstTokenTimeoutMs: this.firstTokenTimeoutMs(model),
    };
  }

  firstTokenTimeoutMs(model: string): number {
    const configured = this.env.MODEL_FIRST_TOKEN_TIMEOUT_MS;
    return configured.models[model] ?? configured.default ?? this.env.OPENAI_FIRST_TOKEN_TIMEOUT_MS;
  }

  /**
   * A server refused a prompt as too long: remember the window it reported (or, when it did not
   * say, a smaller one than the prompt refused) and how it counted the prompt against the
   * estimate. True when the next prompt will be smaller, so asking again can succeed.
   */
  learn(model: string, refused: PromptPlan, said: { contextTokens?: number; promptTokens?: number }): boolean {
    const before = this.limitsFor(model);
    const learned = { ...this.learned.get(model) };
    if (said.contextTokens) learned.contextTokens = Math.min(said.contextTokens, learned.contextTokens ?? Infinity);
    // A short prompt says little about the tokenizer (the template's own tokens dominate).
    if (said.promptTokens && refused.estimatedTokens >= MIN_TOKENS_TO_COMPARE) {
      const ratio = Math.min(MAX_TOKEN_RATIO, (said.promptTokens / refused.estimatedTokens) * 1.05);
      if (ratio > before.tokenRatio) learned.tokenRatio = ratio;
    }
    if (!said.contextTokens && !said.promptTokens) {
      learned.contextTokens = Math.floor(Math.min(before.contextTokens, refused.promptTokens) * SHRINK_UNSAID);
    }
    this.learned.set(model, learned);
    const after = this.limitsFor(model);
    return after.contextTokens < before.contextTokens || after.tokenRatio > before.tokenRatio;
  }
}

/** Even the newest message (with the system prompt) leaves no room for a reply. */
export class PromptTooLongError extends Error {
  override name = "PromptTooLongError";
  constructor(
    readonly promptTokens: number,
    readonly limits: ContextLimits,
  ) {
    const room = Math.max(0, limits.contextTokens - replyFloor(limits));
    super(
      `This message is about ${promptTokens.toLocaleString("en")} tokens with the conversation's instructions, but “${limits.model}” can read about ${room.toLocaleString("en")} and still answer. Shorten the message, split it into parts, or pick a model with a longer context.`,
    );
  }
}

export interface PromptParts {
  system: string | null;
  /** The message being answered. */
  question: string;
  /** Earlier turns, newest first: read lazily, and only as far as they fit. */
  history: Iterable<ChatTurn>;
}

/**
 * The system prompt and the newest message always go; then as many earlier turns as fit
 * (oldest dropped first), leaving room for the reply: a quarter of the window, at most the
 * longest reply, at least MIN_REPLY_TOKENS (or a quarter of a tiny window).
 */
export function fitPrompt({ system, question, history }: PromptParts, limits: ContextLimits): PromptPlan {
  const scaled = (estimate: number) => Math.ceil(estimate * limits.tokenRatio);
  const fixedEstimate = turnTokens(system) + turnTokens(question) + TOKENS_BEFORE_REPLY;
  if (scaled(fixedEstimate) > limits.contextTokens - replyFloor(limits)) throw new PromptTooLongError(scaled(fixedEstimate), limits);

  const budget = limits.contextTokens - replyRoom(limits);
  let estimated = fixedEstimate;
  const earlier: ChatTurn[] = [];
  for (const turn of history) {
    const cost = turnTokens(turn.content);
    if (scaled(estimated + cost) > budget) break;
    estimated += cost;
    earlier.push(turn);
  }
  const turns = earlier.reverse();
  // A history that starts with a reply confuses some models: begin at a user turn.
  while (turns[0]?.role === "assistant") estimated -= turnTokens(turns.shift()!.content);
  const promptTokens = scaled(estimated);
  return {
    messages: [...(system ? [{ role: "system" as const, content: system }] : []), ...turns, { role: "user", content: question }],
    promptTokens,
    estimatedTokens: estimated,
    maxTokens: Math.max(1, Math.min(limits.maxReplyTokens, limits.contextTokens - promptTokens)),
  };
}

function turnTokens(content: string | null): number {
  return content === null ? 0 : estimateTokens(content) + TOKENS_PER_MESSAGE;
}

function replyRoom(limits: ContextLimits): number {
  return Math.min(limits.maxReplyTokens, Math.max(replyFloor(limits), Math.floor(limits.contextTokens / 4)));
}

function replyFloor(limits: ContextLimits): number {
  return Math.min(MIN_REPLY_TOKENS, Math.floor(limits.contextTokens / 4), limits.maxReplyTokens);
}
