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
  /** What it was fitted to: a refusal teaches something only if it says more than these. */
  limits: ContextLimits;
}

/** The margin for tokenizers other than the estimate's, until the server says how it counts. */
const DEFAULT_TOKEN_RATIO = 1.1;
/** Room always left for a reply, however full the window. */
const MIN_REPLY_TOKENS = 256;
/** The server's count is compared with the estimate only for prompts at least this long… */
const MIN_TOKENS_TO_COMPARE = 200;
/** …and the estimate is never taken to be off by more than this. */
const MAX_TOKEN_RATIO = 2;
/** A window whose size the server did not say is shrunk to this share of the request it refused… */
const SHRINK_UNSAID = 0.75;
/** …never below this. */
const MIN_LEARNED_CONTEXT = 256;
/** A server that refused a prompt within the window it states counts more tokens than estimated. */
const RATIO_STEP = 1.25;
/** Servers get reconfigured and models swapped: what one said is believed for an hour. */
const LEARNED_FOR_MS = 60 * 60 * 1000;

interface Learned {
  contextTokens?: number;
  tokenRatio?: number;
  at: number;
}

/** Per-model context windows and first-token timeouts: configured, then corrected by what servers say. */
export class ModelLimits {
  private readonly learned = new Map<string, Learned>();

  constructor(private readonly env: ModelLimitsEnv) {}

  limitsFor(model: string): ContextLimits {
    const learned = this.learnedFor(model);
    return {
      model,
      contextTokens: Math.min(this.configuredContextTokens(model), learned?.contextTokens ?? Infinity),
      maxReplyTokens: this.env.MAX_REPLY_TOKENS,
      tokenRatio: Math.max(DEFAULT_TOKEN_RATIO, learned?.tokenRatio ?? 0),
    };
  }

  /** For admins: the window configured and the one in use (smaller when a server said so). */
  describe(model: string) {
    const { contextTokens, tokenRatio } = this.limitsFor(model);
    return {
      contextTokens,
      configuredContextTokens: this.configuredContextTokens(model),
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
   * say, one smaller than the request it refused) and how it counted the prompt against the
   * estimate (or, when it refused within the window it states, that it counts more). True when
   * the limits are now tighter than those the refused prompt was fitted to, so fitting it again
   * and asking once more can succeed, also when another reply learned it a moment before.
   */
  learn(model: string, refused: PromptPlan, said: { contextTokens?: number; promptTokens?: number }): boolean {
    const was = refused.limits;
    let contextTokens = said.contextTokens;
    let tokenRatio: number | undefined;
    // A short prompt says little about the tokenizer (the template's own tokens dominate).
    const comparable = refused.estimatedTokens >= MIN_TOKENS_TO_COMPARE;
    if (said.promptTokens && comparable) {
      tokenRatio = (said.promptTokens / refused.estimatedTokens) * 1.05;
    } else if (said.contextTokens && said.contextTokens >= was.contextTokens && comparable) {
      tokenRatio = was.tokenRatio * RATIO_STEP;
    }
    if (!said.contextTokens && !said.promptTokens) {
      // The prompt and the reply asked for together passed the window: assume it smaller.
      const request = refused.promptTokens + refused.maxTokens;
      contextTokens = Math.max(MIN_LEARNED_CONTEXT, Math.floor(Math.min(was.contextTokens, request) * SHRINK_UNSAID));
    }
    const known = this.learnedFor(model);
    this.learned.set(model, {
      contextTokens: Math.min(contextTokens ?? Infinity, known?.contextTokens ?? Infinity),
      tokenRatio: Math.min(MAX_TOKEN_RATIO, Math.max(tokenRatio ?? 0, known?.tokenRatio ?? 0)),
      at: Date.now(),
    });
    const now = this.limitsFor(model);
    return now.contextTokens < was.contextTokens || now.tokenRatio > was.tokenRatio;
  }

  private configuredContextTokens(model: string): number {
    return this.env.MODEL_CONTEXT_TOKENS.models[model] ?? this.env.MODEL_CONTEXT_TOKENS.default;
  }

  private learnedFor(model: string): Learned | undefined {
    const learned = this.learned.get(model);
    if (learned && Date.now() - learned.at > LEARNED_FOR_MS) this.learned.delete(model);
    return this.learned.get(model);
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
    // A little short of the window: servers that refuse prompt + max_tokens > window (vLLM,
    // OpenAI) would otherwise refuse any estimate a token low.
    maxTokens: Math.max(1, Math.min(limits.maxReplyTokens, limits.contextTokens - promptTokens - replyMargin(limits))),
    limits,
  };
}

function turnTokens(content: string | null): number {
  return content === null ? 0 : estimateTokens(content) + TOKENS_PER_MESSAGE;
}

function replyRoom(limits: ContextLimits): number {
  return Math.min(limits.maxReplyTokens, Math.max(replyFloor(limits), Math.floor(limits.contextTokens / 4)));
}

function replyMargin(limits: ContextLimits): number {
  return 8 + Math.floor(limits.contextTokens / 100);
}

function replyFloor(limits: ContextLimits): number {
  return Math.min(MIN_REPLY_TOKENS, Math.floor(limits.contextTokens / 4), limits.maxReplyTokens);
}
