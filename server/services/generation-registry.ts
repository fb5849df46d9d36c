import type { MessageRow } from "../db/schema";
import { BatchTicker, batchWindowMs } from "./reply-followers";
import { Generation, type GenerationDeps, type PromptSource } from "./generation";

/**
 * Which replies run in this process, by message and person: "a few at a time per person" and
 * "a message cannot follow a reply still being written" are asked here, and shutdown stops
 * them all. A reply itself is generation.ts.
 */

export interface StartGeneration {
  /** Whose reply it is, for the per-person limit on replies running at once. */
  userId: string;
  message: MessageRow;
  model: string;
  prompt: PromptSource;
  /** The conversation's temperature, when it set one. */
  temperature?: number;
}

/** The one registry of running generations in this process. */
export class GenerationRegistry {
  private readonly running = new Map<string, Generation>();
  /** Running replies per person (for their limit, and to stop them all). */
  private readonly perUser = new Map<string, Set<Generation>>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly deps: GenerationDeps;

  /** Told of every reply that ended (a model writes the conversation's title after its first). */
  private readonly onEnded: (reply: MessageRow) => void;

  constructor({ onEnded = () => {}, ...deps }: Omit<GenerationDeps, "ticker"> & { onEnded?: (reply: MessageRow) => void }) {
    const ticker = new BatchTicker(() => batchWindowMs(this.running.size));
    this.deps = { ...deps, ticker };
    this.onEnded = onEnded;
  }

  start({ userId, message, model, prompt, temperature }: StartGeneration): Generation {
    const generation = new Generation(this.deps, message, { model, prompt, temperature });
    this.running.set(message.id, generation);
    addMember(this.perUser, userId, generation);
    generation.done
      .then(
        (reply) => this.tellEnded(reply),
        (error: unknown) => this.deps.logger.error({ err: error, messageId: message.id }, "the reply failed unexpectedly"),
      )
      .finally(() => {
        removeMember(this.perUser, userId, generation);
        // Forgotten only once saved: from then on the database answers for it.
        if (generation.trySave()) this.running.delete(message.id);
        else this.retrySave(generation, 0);
      });
    return generation;
  }

  /** What follows a reply's end (a title) never becomes the reply's failure. */
  private tellEnded(reply: MessageRow): void {
    try {
      this.onEnded(reply);
    } catch (error) {
      this.deps.logger.error({ err: error, messageId: reply.id }, "could not act on a reply's end");
    }
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
      this.deps.logger.error({ messageId: generation.messageId }, "a reply could not be saved before shutdown");
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
