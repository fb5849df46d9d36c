import type { Db } from "../db/client";
import type { MessageRow } from "../db/schema";
import type { Env } from "../env";
import { unavailableReason } from "../db/write-gate";
import { ProviderError, type ChatProvider, type ChatTurn } from "../llm/provider";
import type { Logger } from "../logger";
import { saveReply, saveReplyText, touchConversation } from "./message-queries";

/**
 * Replies belong to the server, not to a connection: a generation runs in this per-process
 * registry until the model finishes, fails, times out or is stopped, whoever is listening.
 * Subscribers follow its text; the database is written once at the end (plus a checkpoint
 * of the partial text now and then, so a crash loses little).
 */

export type GenerationEnv = Pick<Env, "OPENAI_FIRST_TOKEN_TIMEOUT_MS" | "OPENAI_IDLE_TIMEOUT_MS" | "MAX_REPLY_TOKENS" | "MAX_REPLY_CHARS">;

export interface GenerationUpdate {
  /** Text added since the subscriber's last update (coalesced when the subscriber is slower than the model). */
  delta?: string;
  /** Characters of the reply the subscriber has now seen. */
  offset: number;
  /** The saved message, once the generation is over. */
  final?: MessageRow;
}

const CHECKPOINT_MS = 1_000;
/**
 * The shortest time between two wake-ups of a reply's followers while text arrives. Tokens
 * that arrive within one window go out as one event: a browser paints at most once a frame
 * anyway, and every event costs the server CPU (README, Benchmarks). 15 ms keeps the pauses a
 * reader sees within about twice the model's own (10–15 ms a token); widening it already at 100
 * replies made their p99 gap 2.0–2.4× the model's for 7% less CPU. Past 100 running replies
 * it widens, up to 25 updates a second at 500, so the server keeps up with all of them
 * instead of falling behind on each.
 */
export function batchWindowMs(runningReplies: number): number {
  return Math.min(40, 15 + Math.max(0, Math.floor((runningReplies - 100) / 16)));
}

type AbortReason =
  { kind: "stopped" } | { kind: "interrupted" } | { kind: "timeout"; message: string } | { kind: "too long"; chars: number };

const GENERIC_FAILURE = "Something went wrong while generating the reply. Try again.";

export class Generation {
  private text = "";
  private checkpointed = 0;
  private final: MessageRow | null = null;
  /** The final message is in the database (not only in memory). */
  private saved = false;
  private usage: { promptTokens: number; completionTokens: number } | null = null;
  private readonly controller = new AbortController();
  /** Followers waiting for more text: woken together, at most once per batch window. */
  private readonly waiting = new Set<() => void>();
  private lastWake = -Infinity;
  private wakeScheduled = false;
  readonly done: Promise<MessageRow>;

  constructor(
    private readonly db: Db,
    private readonly provider: ChatProvider,
    private readonly env: GenerationEnv,
    private readonly logger: Logger,
    readonly message: MessageRow,
    private readonly request: { model: string; messages: ChatTurn[] },
    private readonly ticker: BatchTicker,
  ) {
    this.done = this.run();
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
   * Everything after `fromOffset` characters, then live updates, then the final message.
   * Reading the text and starting to wait happen in one synchronous step, so nothing slips
   * between. A follower slower than the model gets the text that piled up in one update.
   */
  async *follow(fromOffset: number, signal: AbortSignal): AsyncGenerator<GenerationUpdate> {
    let offset = Math.min(fromOffset, this.text.length);
    let wake: (() => void) | undefined;
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        if (this.text.length > offset) {
          const delta = this.text.slice(offset);
          offset = this.text.length;
          yield { delta, offset };
          continue;
        }
        if (this.final) {
          yield { offset, final: this.final };
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.waiting.add(resolve);
        });
        this.waiting.delete(wake!);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (wake) this.waiting.delete(wake);
    }
  }

  private abort(reason: AbortReason) {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** New text: followers hear of it now, or when the current batch window closes. */
  private textAdded() {
    if (this.wakeScheduled) return;
    const wait = this.lastWake + this.ticker.windowMs() - performance.now();
    if (wait <= 0) {
      this.wakeFollowers();
    } else {
      this.wakeScheduled = true;
      this.ticker.schedule(this, wait);
    }
  }

  /** Wakes the followers now; the ticker calls it when a batch window ends. */
  wakeFollowers() {
    this.wakeScheduled = false;
    this.lastWake = performance.now();
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }

  private async run(): Promise<MessageRow> {
    const signal = this.controller.signal;
    const watchdog = new Watchdog();
    watchdog.arm(this.env.OPENAI_FIRST_TOKEN_TIMEOUT_MS, () => this.abort({ kind: "timeout", message: this.firstTokenTimeoutMessage() }));
    const checkpoint = setInterval(() => this.checkpoint(), CHECKPOINT_MS);

    let outcome: { status: MessageRow["status"]; error: string | null };
    try {
      for await (const event of this.provider.stream({ ...this.request, maxTokens: this.env.MAX_REPLY_TOKENS, signal })) {
        // Chunks already read when the reply was stopped or cut off are not part of it.
        if (signal.aborted) break;
        if (event.type === "usage") {
          this.usage = { promptTokens: event.promptTokens, completionTokens: event.completionTokens };
          continue;
        }
        if (this.text === "") {
          watchdog.arm(this.env.OPENAI_IDLE_TIMEOUT_MS, () => this.abort({ kind: "timeout", message: this.idleTimeoutMessage() }));
        } else {
          watchdog.restart();
        }
        this.text += event.text;
        // A server that ignores the length asked for (or streams forever) stops here: 130 MB in
        // 25 s once, and 1.3 GB of memory.
        if (this.text.length > this.env.MAX_REPLY_CHARS) {
          this.text = this.text.slice(0, this.env.MAX_REPLY_CHARS);
          this.abort({ kind: "too long", chars: this.env.MAX_REPLY_CHARS });
        }
        this.textAdded();
      }
      if (signal.aborted) outcome = outcomeOfAbort(signal.reason as AbortReason);
      else if (this.text.trim() === "") outcome = this.emptyReply();
      else outcome = { status: "complete", error: null };
    } catch (error) {
      outcome = signal.aborted ? outcomeOfAbort(signal.reason as AbortReason) : this.outcomeOfFailure(error);
    } finally {
      watchdog.disarm();
      clearInterval(checkpoint);
    }
    return this.finish(outcome);
  }

  private outcomeOfFailure(error: unknown): { status: MessageRow["status"]; error: string } {
    if (error instanceof ProviderError) {
      const { status, detail } = error.details;
      this.logger.warn({ messageId: this.message.id, model: this.request.model, status, detail }, error.message);
      return { status: "error", error: error.message };
    }
    this.logger.error({ err: error, messageId: this.message.id, model: this.request.model }, "generation failed");
    return { status: "error", error: GENERIC_FAILURE };
  }

  /**
   * Saves the partial text now and then, so a crash loses little. A checkpoint that cannot be
   * written (the database locked by another process, the disk full) is skipped: the next one,
   * or the final save, writes the text.
   */
  private checkpoint(): void {
    if (this.text.length === this.checkpointed) return;
    try {
      saveReplyText(this.db, this.message.id, this.text);
      this.checkpointed = this.text.length;
    } catch (error) {
      if (!unavailableReason(error)) this.logger.error({ err: error, messageId: this.message.id }, "could not checkpoint the reply");
    }
  }

  /**
   * The reply ends for its followers whether or not it could be saved: they get the final
   * message from memory, and the registry retries the save (retrySave) until the database
   * takes it. Until then a reload or a resume is answered from memory too.
   */
  private finish(outcome: { status: MessageRow["status"]; error: string | null }): MessageRow {
    this.final = {
      ...this.message,
      content: this.text,
      status: outcome.status,
      error: outcome.error,
      promptTokens: this.usage?.promptTokens ?? null,
      completionTokens: this.usage?.completionTokens ?? null,
    };
    this.trySave();
    this.wakeFollowers();
    return this.final;
  }

  /** Writes the final message; false (and logged) when the database cannot take it now. */
  trySave(): boolean {
    const final = this.final;
    if (this.saved || !final) return this.saved;
    try {
      const row = this.db.transaction(() => {
        const { content, status, error, promptTokens, completionTokens } = final;
        const saved = saveReply(this.db, final.id, { content, status, error, promptTokens, completionTokens });
        if (saved) touchConversation(this.db, final.conversationId, new Date());
        return saved;
      });
      // Gone with its conversation: followers still get the reply's end, from memory.
      this.final = row ?? final;
      this.saved = true;
    } catch (error) {
      const reason = unavailableReason(error);
      if (reason) this.logger.warn({ messageId: final.id, reason }, "could not save the reply yet; it will be retried");
      else this.logger.error({ err: error, messageId: final.id }, "could not save the reply; it will be retried");
    }
    return this.saved;
  }

  /** A stream that ended without a word is no answer: saved as complete, it would look like one. */
  private emptyReply(): { status: MessageRow["status"]; error: string } {
    this.logger.warn({ messageId: this.message.id, model: this.request.model }, "the model server ended the reply without any text");
    return { status: "error", error: "The model sent an empty reply. Try again, or pick another model." };
  }

  private firstTokenTimeoutMessage() {
    return `The model server did not start answering within ${seconds(this.env.OPENAI_FIRST_TOKEN_TIMEOUT_MS)}. Try again, or pick another model.`;
  }

  private idleTimeoutMessage() {
    return `The model server stopped sending for ${seconds(this.env.OPENAI_IDLE_TIMEOUT_MS)}; the reply was cut short. Try again.`;
  }
}

function outcomeOfAbort(reason: AbortReason): { status: MessageRow["status"]; error: string | null } {
  switch (reason.kind) {
    case "stopped":
      return { status: "stopped", error: null };
    case "interrupted":
      return { status: "interrupted", error: "The server shut down before this reply finished." };
    case "timeout":
      return { status: "error", error: reason.message };
    case "too long":
      return {
        status: "error",
        error: `The reply passed the longest a reply may be here (${reason.chars.toLocaleString("en")} characters) and was cut off. Ask for a shorter answer, or for the rest in parts.`,
      };
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

/**
 * One timer for the batched wake-ups of every running reply: with hundreds of replies the
 * server wakes once a window for all of them, not once a window for each.
 */
export class BatchTicker {
  private readonly due = new Set<{ wakeFollowers(): void }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly windowMs: () => number) {}

  /** Wakes `generation` at the next beat, or in `waitMs` when none is due yet. */
  schedule(generation: { wakeFollowers(): void }, waitMs: number): void {
    this.due.add(generation);
    this.timer ??= setTimeout(() => this.tick(), waitMs);
  }

  /** Wakes what is due and keeps the beat while text keeps coming; stops when nothing is due. */
  private tick(): void {
    const due = [...this.due];
    this.due.clear();
    for (const generation of due) generation.wakeFollowers();
    this.timer = due.length > 0 ? setTimeout(() => this.tick(), this.windowMs()) : undefined;
  }
}

export interface StartGeneration {
  /** Whose reply it is, for the per-person limit on replies running at once. */
  userId: string;
  message: MessageRow;
  model: string;
  messages: ChatTurn[];
}

/** The one registry of running generations in this process. */
export class GenerationRegistry {
  private readonly running = new Map<string, Generation>();
  /** Running replies per person (for their limit, and to stop them all) and per conversation (one at a time). */
  private readonly perUser = new Map<string, Set<Generation>>();
  private readonly perConversation = new Map<string, number>();
  private readonly ticker = new BatchTicker(() => batchWindowMs(this.running.size));
  private readonly retries = new Set<NodeJS.Timeout>();

  constructor(
    private readonly db: Db,
    private readonly provider: ChatProvider,
    private readonly env: GenerationEnv,
    private readonly logger: Logger,
  ) {}

  start({ userId, message, model, messages: turns }: StartGeneration): Generation {
    const generation = new Generation(this.db, this.provider, this.env, this.logger, message, { model, messages: turns }, this.ticker);
    this.running.set(message.id, generation);
    addMember(this.perUser, userId, generation);
    addCount(this.perConversation, message.conversationId, 1);
    generation.done
      .catch((error: unknown) => this.logger.error({ err: error, messageId: message.id }, "the reply failed unexpectedly"))
      .finally(() => {
        removeMember(this.perUser, userId, generation);
        addCount(this.perConversation, message.conversationId, -1);
        // Forgotten only once saved: from then on the database answers for it.
        if (generation.trySave()) this.running.delete(message.id);
        else this.retrySave(generation, 0);
      });
    return generation;
  }

  get(messageId: string): Generation | undefined {
    return this.running.get(messageId);
  }

  runningFor(userId: string): number {
    return this.perUser.get(userId)?.size ?? 0;
  }

  /** Stops the replies running in a conversation (it is being deleted). */
  stopIn(conversationId: string): void {
    for (const generation of this.running.values()) {
      if (generation.message.conversationId === conversationId) void generation.stop();
    }
  }

  /** Stops every reply a person has running, keeping their text (their account was disabled). */
  async stopAllFor(userId: string): Promise<void> {
    await Promise.all([...(this.perUser.get(userId) ?? [])].map((generation) => generation.stop()));
  }

  /** Whether a reply is being written in the conversation now (a `streaming` row left by a crash is not). */
  isRunningIn(conversationId: string): boolean {
    return this.perConversation.has(conversationId);
  }

  get size(): number {
    return this.running.size;
  }

  /**
   * A reply the database could not take (locked by another process, disk full) is saved again
   * after 1, 2, 4… up to 30 s. Until then it stays here, so followers still get it.
   */
  private retrySave(generation: Generation, attempt: number): void {
    const timer = setTimeout(
      () => {
        this.retries.delete(timer);
        if (generation.trySave()) this.running.delete(generation.messageId);
        else this.retrySave(generation, attempt + 1);
      },
      Math.min(30_000, 1_000 * 2 ** attempt),
    );
    this.retries.add(timer);
  }

  /** Saves every running reply as `interrupted` (shutdown), and tries once more to save the unsaved. */
  async interruptAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((generation) => generation.interrupt()));
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    for (const generation of this.running.values()) {
      if (generation.trySave()) continue;
      // Its row stays `streaming` with the last checkpoint: the next start marks it interrupted.
      this.logger.error({ messageId: generation.messageId }, "a reply could not be saved before shutdown");
    }
  }

  /** Lets running replies finish for up to `ms`, then interrupts the rest (keeping their text). */
  async drain(ms: number): Promise<void> {
    const all = Promise.allSettled([...this.running.values()].map((generation) => generation.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    await this.interruptAll();
  }
}

/** Sets that vanish when empty, so the map holds only what is running. */
function addMember<T>(sets: Map<string, Set<T>>, key: string, member: T): void {
  const set = sets.get(key) ?? new Set<T>();
  set.add(member);
  sets.set(key, set);
}

function removeMember<T>(sets: Map<string, Set<T>>, key: string, member: T): void {
  const set = sets.get(key);
  set?.delete(member);
  if (set?.size === 0) sets.delete(key);
}

/** Counts that vanish at zero, so the maps hold only what is running. */
function addCount(counts: Map<string, number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}
