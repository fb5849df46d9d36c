import { setTimeout as sleep } from "node:timers/promises";
import type { Db } from "../db/client";
import type { MessageRow } from "../db/schema";
import type { Env } from "../env";
import { unavailableReason } from "../db/write-gate";
import { PromptTooLongError, type ContextLimits, type ModelLimits, type PromptPlan } from "../llm/context-window";
import { ProviderError, type ChatProvider } from "../llm/provider";
import { estimateTokens } from "../llm/tokens";
import type { ModelProblems } from "./model-status";
import type { Logger } from "../logger";
import { saveReply, saveReplyText, touchConversation } from "./message-queries";
import { ReplyFollowers, type BatchTicker } from "./reply-followers";

/**
 * Replies belong to the server, not to a connection: a generation runs in this per-process
 * registry until the model finishes, fails, times out or is stopped, whoever is listening.
 * Subscribers follow its text; the database is written once at the end (plus a checkpoint
 * of the partial text now and then, so a crash loses little).
 */

export type GenerationEnv = Pick<Env, "OPENAI_IDLE_TIMEOUT_MS" | "MAX_REPLY_CHARS">;

/** Where a reply stands before its first token, for the person waiting (null once it flows). */
export interface ReplyPhase {
  phase: "waiting" | "loading";
  message: string;
}

export interface GenerationUpdate {
  /** Text added since the subscriber's last update (coalesced when the subscriber is slower than the model). */
  delta?: string;
  /** Thinking added since the subscriber's last update. */
  reasoning?: string;
  /** The reply's phase changed (null: no longer waiting or loading). */
  phase?: ReplyPhase | null;
  /** Characters of the reply, and of its thinking, the subscriber has now seen. */
  offset: number;
  reasoningOffset: number;
  /** The saved message, once the generation is over. */
  final?: MessageRow;
}

/** Where a follower stands in a reply: characters of its text, and of its thinking, seen. */
export type ReplyPosition = Pick<GenerationUpdate, "offset" | "reasoningOffset">;

/** What a generation sends, and how to build it again for a smaller window (context-window.ts). */
export interface PromptSource {
  plan: PromptPlan;
  refit(limits: ContextLimits): PromptPlan;
}

const CHECKPOINT_MS = 1_000;
/** No answer at all (not even headers) this long: the server is most likely busy with others. */
const WAITING_AFTER_MS = 2_000;
/** Asking a loading server again: after 0.5, 1, 2, 4 s, then every 5 s (the first-token timeout ends it). */
const LOADING_RETRY_MS = [500, 1_000, 2_000, 4_000, 5_000];
/** Prompts refused as too long are fitted again this often, each time to what the server said. */
const MAX_REFITS = 2;
type AbortReason = { kind: "stopped" } | { kind: "interrupted" } | { kind: "timeout"; message: string } | { kind: "too long" };

const GENERIC_FAILURE = "Something went wrong while generating the reply. Try again.";

type Outcome = Pick<MessageRow, "status" | "error" | "finishReason">;

export class Generation {
  private text = "";
  private reasoning = "";
  /** When the first thinking arrived, and how long the thinking took (until the first word of answer). */
  private reasoningStartedAt: number | null = null;
  private reasoningMs: number | null = null;
  private checkpointed = { text: 0, reasoning: 0 };
  private finishReason: MessageRow["finishReason"] = null;
  private phase: ReplyPhase | null = null;
  /** Counts phase changes, so each follower hears of every one. */
  private phaseVersion = 0;
  /** The server answered with a stream: it spent tokens on this reply, reported or not. */
  private accepted = false;
  private plan: PromptPlan;
  private final: MessageRow | null = null;
  /** The final message is in the database (not only in memory). */
  private saved = false;
  private usage: { promptTokens: number; completionTokens: number } | null = null;
  private readonly controller = new AbortController();
  private readonly watchdog = new Watchdog();
  /** Who follows this reply: woken together, at most once per batch window. */
  private readonly followers: ReplyFollowers;
  readonly done: Promise<MessageRow>;

  constructor(
    private readonly deps: GenerationDeps,
    readonly message: MessageRow,
    private readonly request: { model: string; prompt: PromptSource; temperature?: number },
  ) {
    this.plan = request.prompt.plan;
    this.followers = new ReplyFollowers(deps.ticker);
    this.done = this.run();
  }

  /** The reply has ended (its final message may still be waiting to be saved). */
  get ended(): boolean {
    return this.final !== null;
  }

  get messageId(): string {
    return this.message.id;
  }

  /** Ends the reply now, keeping the text so far (status `stopped`). */
  stop(): Promise<MessageRow> {
    this.abort({ kind: "stopped" });
    return this.done;
  }

  /** For shutdown: keeps the text so far with status `interrupted`. */
  interrupt(): Promise<MessageRow> {
    this.abort({ kind: "interrupted" });
    return this.done;
  }

  /**
   * Everything after the given offsets (characters of the text, and of the thinking), then live
   * updates, then the final message. Reading the text and starting to wait happen in one
   * synchronous step, so nothing slips between. A follower slower than the model gets the text
   * that piled up in one update.
   */
  async *follow(from: ReplyPosition, signal: AbortSignal): AsyncGenerator<GenerationUpdate> {
    let offset = Math.min(from.offset, this.text.length);
    let reasoningOffset = Math.min(from.reasoningOffset, this.reasoning.length);
    let phaseVersion = this.phase ? -1 : this.phaseVersion;
    let wake: (() => void) | undefined;
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const update: GenerationUpdate = { offset, reasoningOffset };
        if (phaseVersion !== this.phaseVersion) {
          phaseVersion = this.phaseVersion;
          update.phase = this.phase;
        }
        if (this.reasoning.length > reasoningOffset) {
          update.reasoning = this.reasoning.slice(reasoningOffset);
          update.reasoningOffset = reasoningOffset = this.reasoning.length;
        }
        if (this.text.length > offset) {
          update.delta = this.text.slice(offset);
          update.offset = offset = this.text.length;
        }
        if (update.phase !== undefined || update.reasoning || update.delta) {
          yield update;
          continue;
        }
        if (this.final) {
          yield { offset, reasoningOffset, final: this.final };
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.followers.wait(resolve);
        });
        this.followers.forget(wake!);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (wake) this.followers.forget(wake);
    }
  }

  private abort(reason: AbortReason) {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  private setPhase(phase: ReplyPhase | null) {
    if (this.phase === phase) return;
    this.phase = phase;
    this.phaseVersion++;
    this.followers.wakeNow();
  }

  private async run(): Promise<MessageRow> {
    const signal = this.controller.signal;
    const firstTokenMs = this.deps.limits.firstTokenTimeoutMs(this.request.model);
    this.watchdog.arm(firstTokenMs, () => this.abort({ kind: "timeout", message: this.firstTokenTimeoutMessage(firstTokenMs) }));
    const checkpoint = setInterval(() => this.checkpoint(), CHECKPOINT_MS);

    let outcome: Outcome;
    try {
      const attempts = { loading: 0, refits: 0 };
      for (;;) {
        try {
          await this.streamReply(signal);
          break;
        } catch (error) {
          if (signal.aborted || this.text || this.reasoning || !(error instanceof ProviderError)) throw error;
          await this.recover(error, attempts, signal);
        }
      }
      outcome = signal.aborted ? this.outcomeOfAbort(signal.reason as AbortReason) : this.outcomeOfEnd();
    } catch (error) {
      outcome = signal.aborted ? this.outcomeOfAbort(signal.reason as AbortReason) : this.outcomeOfFailure(error);
    } finally {
      this.watchdog.disarm();
      clearInterval(checkpoint);
    }
    return this.finish(outcome);
  }

  /** One request to the model server, its events added to the reply as they come. */
  private async streamReply(signal: AbortSignal): Promise<void> {
    const waiting = setTimeout(() => this.setPhase(WAITING), WAITING_AFTER_MS);
    try {
      const { model, temperature } = this.request;
      const { messages, maxTokens } = this.plan;
      for await (const event of this.deps.provider.stream({ model, messages, maxTokens, temperature, signal })) {
        // Chunks already read when the reply was stopped or cut off are not part of it.
        if (signal.aborted) break;
        switch (event.type) {
          case "accepted":
            clearTimeout(waiting);
            this.accepted = true;
            this.setPhase(null);
            break;
          case "usage":
            this.usage = { promptTokens: event.promptTokens, completionTokens: event.completionTokens };
            break;
          case "finish":
            this.finishReason = event.reason === "other" ? null : event.reason;
            break;
          case "reasoning":
            this.tokenArrived();
            // Qwen3 opens every answer with an empty `<think>\n\n</think>`: no thinking at all.
            if (!this.reasoning && !event.text.trim()) break;
            this.reasoningStartedAt ??= performance.now();
            this.reasoning += event.text;
            this.capLength("reasoning");
            this.followers.changed();
            break;
          case "delta":
            this.tokenArrived();
            if (this.reasoningStartedAt !== null && this.reasoningMs === null) {
              this.reasoningMs = Math.round(performance.now() - this.reasoningStartedAt);
            }
            this.text += event.text;
            this.capLength("text");
            this.followers.changed();
            break;
        }
      }
    } finally {
      clearTimeout(waiting);
    }
  }

  /** Thinking is activity as much as text: from the first token on, only silence times out. */
  private tokenArrived() {
    if (this.text || this.reasoning) return this.watchdog.restart();
    this.setPhase(null);
    this.watchdog.arm(this.deps.env.OPENAI_IDLE_TIMEOUT_MS, () => this.abort({ kind: "timeout", message: this.idleTimeoutMessage() }));
  }

  /**
   * A server that ignores the length asked for (or streams forever) stops here: 130 MB in 25 s
   * once, and 1.3 GB of memory. The thinking counts too.
   */
  private capLength(grown: "text" | "reasoning") {
    const max = this.deps.env.MAX_REPLY_CHARS;
    if (this.text.length + this.reasoning.length <= max) return;
    // Only the part that just grew is cut: followers may have the rest already.
    if (grown === "text") this.text = this.text.slice(0, max - this.reasoning.length);
    else this.reasoning = this.reasoning.slice(0, max - this.text.length);
    this.finishReason = "length";
    this.abort({ kind: "too long" });
  }

  /**
   * Before the first token, two refusals are worth asking again for: a server still loading
   * its model (503), until the first-token timeout; and a prompt too long for a window smaller
   * than configured, fitted again to what the server said. Anything else ends the reply.
   */
  private async recover(error: ProviderError, attempts: { loading: number; refits: number }, signal: AbortSignal): Promise<void> {
    const { model } = this.request;
    const { reason, retryAfterSeconds, detail } = error.details;
    if (reason === "loading") {
      this.setPhase({ phase: "loading", message: `${error.message} Trying again…` });
      const wait = retryAfterSeconds
        ? Math.min(10_000, retryAfterSeconds * 1000)
        : LOADING_RETRY_MS[Math.min(attempts.loading, LOADING_RETRY_MS.length - 1)]!;
      attempts.loading++;
      this.deps.logger.info(
        { messageId: this.message.id, model, attempt: attempts.loading, waitMs: wait, detail },
        "model server loading; retrying",
      );
      await sleep(wait, undefined, { signal }).catch(() => {});
      return;
    }
    if (reason === "context" && attempts.refits < MAX_REFITS && this.deps.limits.learn(model, this.plan, error.details)) {
      attempts.refits++;
      const limits = this.deps.limits.limitsFor(model);
      const learned = `now fitting prompts to ${limits.contextTokens} tokens, counting ${limits.tokenRatio.toFixed(2)} per estimated token`;
      this.deps.logger.warn(
        { messageId: this.message.id, model, contextTokens: limits.contextTokens, tokenRatio: limits.tokenRatio, detail },
        `the model server refused a prompt as too long; ${learned} and retrying with a shorter history`,
      );
      this.deps.problems.record({
        model,
        message: `Refused a prompt as too long; ${learned}. Retried with a shorter history. Setting MODEL_CONTEXT_TOKENS to the model's real window avoids the refusal.`,
        detail: detail ?? null,
      });
      this.plan = this.request.prompt.refit(limits);
      return;
    }
    throw error;
  }

  private outcomeOfAbort(reason: AbortReason): Outcome {
    // Cut off here rather than by the model: the same to the reader, who can ask it to continue.
    if (reason.kind === "too long") return this.outcomeOfEnd();
    // The model said it had finished and the server never closed the stream: it is complete.
    if (reason.kind === "timeout" && this.finishReason !== null) return this.outcomeOfEnd();
    return outcomeOfAbort(reason);
  }

  private outcomeOfEnd(): Outcome {
    if (this.text.trim() !== "") return { status: "complete", error: null, finishReason: this.finishReason };
    if (this.reasoning.trim() !== "") {
      this.deps.logger.warn(
        { messageId: this.message.id, model: this.request.model, finishReason: this.finishReason },
        "the model thought but never answered",
      );
      const why = this.finishReason === "length" ? "reached the longest reply allowed while still thinking" : "stopped after thinking";
      return {
        status: "error",
        error: `The model ${why}, before it wrote an answer. Try again, ask a simpler question, or pick another model.`,
        finishReason: this.finishReason,
      };
    }
    return this.emptyReply();
  }

  private outcomeOfFailure(error: unknown): Outcome {
    if (error instanceof PromptTooLongError) return { status: "error", error: error.message, finishReason: null };
    if (error instanceof ProviderError) {
      const { status, detail } = error.details;
      this.deps.logger.warn({ messageId: this.message.id, model: this.request.model, status, detail }, error.message);
      this.deps.problems.record({ model: this.request.model, message: error.message, detail: detail ?? null });
      return { status: "error", error: error.message, finishReason: null };
    }
    this.deps.logger.error({ err: error, messageId: this.message.id, model: this.request.model }, "generation failed");
    return { status: "error", error: GENERIC_FAILURE, finishReason: null };
  }

  /**
   * Saves the partial text now and then, so a crash loses little. A checkpoint that cannot be
   * written (the database locked by another process, the disk full) is skipped: the next one,
   * or the final save, writes the text.
   */
  private checkpoint(): void {
    const { text, reasoning } = this;
    if (text.length === this.checkpointed.text && reasoning.length === this.checkpointed.reasoning) return;
    try {
      saveReplyText(this.deps.db, this.message.id, text, reasoning);
      this.checkpointed = { text: text.length, reasoning: reasoning.length };
    } catch (error) {
      if (!unavailableReason(error)) this.deps.logger.error({ err: error, messageId: this.message.id }, "could not checkpoint the reply");
    }
  }

  /**
   * The reply ends for its followers whether or not it could be saved: they get the final
   * message from memory, and the registry retries the save (retrySave) until the database
   * takes it. Until then a reload or a resume is answered from memory too.
   */
  private finish(outcome: Outcome): MessageRow {
    if (this.reasoningStartedAt !== null && this.reasoningMs === null) {
      this.reasoningMs = Math.round(performance.now() - this.reasoningStartedAt);
    }
    this.final = {
      ...this.message,
      content: this.text,
      reasoning: this.reasoning,
      reasoningMs: this.reasoningMs,
      ...outcome,
      ...this.usageToSave(),
    };
    this.phase = null;
    this.trySave();
    this.followers.wakeNow();
    return this.final;
  }

  /**
   * What the server reported; when it reported nothing (stopped, timed out, failed, or a server
   * that never reports) but did start on the reply, an estimate, marked as one.
   */
  private usageToSave(): Pick<MessageRow, "promptTokens" | "completionTokens" | "usageEstimated"> {
    if (this.usage) return { ...this.usage, usageEstimated: false };
    if (!this.accepted) return { promptTokens: null, completionTokens: null, usageEstimated: false };
    return {
      promptTokens: this.plan.promptTokens,
      completionTokens: estimateTokens(this.reasoning) + estimateTokens(this.text),
      usageEstimated: true,
    };
  }

  /** Writes the final message; false (and logged) when the database cannot take it now. */
  trySave(): boolean {
    const final = this.final;
    const { db, logger } = this.deps;
    if (this.saved || !final) return this.saved;
    try {
      const row = db.transaction(() => {
        const saved = saveReply(db, final.id, final);
        if (saved) touchConversation(db, final.conversationId, new Date());
        return saved;
      });
      // Gone with its conversation: followers still get the reply's end, from memory.
      this.final = row ?? final;
      this.saved = true;
    } catch (error) {
      const reason = unavailableReason(error);
      if (reason) logger.warn({ messageId: final.id, reason }, "could not save the reply yet; it will be retried");
      else logger.error({ err: error, messageId: final.id }, "could not save the reply; it will be retried");
    }
    return this.saved;
  }

  /** A stream that ended without a word is no answer: saved as complete, it would look like one. */
  private emptyReply(): Outcome {
    this.deps.logger.warn({ messageId: this.message.id, model: this.request.model }, "the model server ended the reply without any text");
    return { status: "error", error: "The model sent an empty reply. Try again, or pick another model.", finishReason: this.finishReason };
  }

  private firstTokenTimeoutMessage(ms: number) {
    if (this.phase?.phase === "loading") {
      return `The model server was still loading the model after ${seconds(ms)}. Try again in a minute; an admin can raise MODEL_FIRST_TOKEN_TIMEOUT_MS for this model.`;
    }
    return `The model server did not start answering within ${seconds(ms)}. Try again, or pick another model.`;
  }

  private idleTimeoutMessage() {
    return `The model server stopped sending for ${seconds(this.deps.env.OPENAI_IDLE_TIMEOUT_MS)}; the reply was cut short. Try again.`;
  }
}

const WAITING: ReplyPhase = {
  phase: "waiting",
  message: "Waiting for the model server: it has not started on this reply yet, and may be busy with other requests.",
};

/** What every generation of a registry shares. */
export interface GenerationDeps {
  db: Db;
  provider: ChatProvider;
  env: GenerationEnv;
  logger: Logger;
  limits: ModelLimits;
  /** Where failures are kept for admins to read (the admin's models page). */
  problems: ModelProblems;
  ticker: BatchTicker;
}

function outcomeOfAbort(reason: Exclude<AbortReason, { kind: "too long" }>): Outcome {
  switch (reason.kind) {
    case "stopped":
      return { status: "stopped", error: null, finishReason: null };
    case "interrupted":
      return { status: "interrupted", error: "The server shut down before this reply finished.", finishReason: null };
    case "timeout":
      return { status: "error", error: reason.message, finishReason: null };
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** One timer, restarted on every token: fires when the model has been silent too long. */
class Watchdog {
  private timer: NodeJS.Timeout | undefined;

  arm(ms: number, onTimeout: () => void) {
    clearTimeout(this.timer);
    this.timer = setTimeout(onTimeout, ms);
  }

  restart() {
    this.timer?.refresh();
  }

  disarm() {
    clearTimeout(this.timer);
  }
}
