import type { Db } from "../db/client";
import type { MessageRow } from "../db/schema";
import type { ChatProvider } from "../llm/provider";
import type { Logger } from "../logger";
import { conversationById, messageById, saveModelTitle } from "./message-queries";
import { cleanTitle } from "./title-text";

/**
 * Titles written by a model: after a conversation's first reply, the model that wrote it is
 * asked for a short title, in the background (the reply is saved and shown already). Any
 * failure keeps the title taken from the first message; a title the person set is never
 * overwritten (saveModelTitle checks, in the same statement that writes).
 */

/** Room for a reasoning model to think before it names the conversation. */
const TITLE_MAX_TOKENS = 1_024;
const TITLE_TIMEOUT_MS = 30_000;
/** What of the first exchange the model reads: the gist is at the start. */
const EXCERPT_CHARS = 2_000;

const INSTRUCTION =
  "Write a title for this conversation: 2 to 6 words, in the language of the user's message, naming its topic. Answer with the title only: no quotes, no full stop, no preamble.";

export interface TitleDeps {
  db: Db;
  provider: ChatProvider;
  logger: Logger;
  /** The offline demo's canned replies would make canned titles: it keeps the first message's. */
  enabled: boolean;
}

export class TitleWriter {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: TitleDeps) {}

  /** Called with every reply that ended: the first complete reply of a conversation gets it a title. */
  afterReply(reply: MessageRow): void {
    if (!this.deps.enabled || reply.status !== "complete" || !reply.model || !reply.parentId) return;
    const question = messageById(this.deps.db, reply.parentId);
    if (!question || question.parentId !== null) return;
    const conversation = conversationById(this.deps.db, reply.conversationId);
    if (conversation?.titleSource !== "message") return;
    const task = this.write(reply.conversationId, reply.model, question.content, reply.content).finally(() => this.running.delete(task));
    this.running.add(task);
  }

  /** For tests and shutdown: the titles being written, written. */
  async settled(): Promise<void> {
    await Promise.all(this.running);
  }

  private async write(conversationId: string, model: string, question: string, answer: string): Promise<void> {
    const signal = AbortSignal.timeout(TITLE_TIMEOUT_MS);
    try {
      let text = "";
      const messages = [
        { role: "system" as const, content: INSTRUCTION },
        {
          role: "user" as const,
          content: `The user wrote:\n${question.slice(0, EXCERPT_CHARS)}\n\nThe assistant answered:\n${answer.slice(0, EXCERPT_CHARS)}`,
        },
      ];
      for await (const event of this.deps.provider.stream({ model, messages, maxTokens: TITLE_MAX_TOKENS, signal })) {
        if (event.type === "delta") text += event.text;
        if (text.length > 1_000) break;
      }
      const title = cleanTitle(text);
      if (!title) {
        this.deps.logger.info({ conversationId, model }, "the model wrote no usable title; keeping the first message's");
        return;
      }
      saveModelTitle(this.deps.db, conversationId, title);
    } catch (error) {
      // The first message's title stays: nothing the person needs to hear of.
      this.deps.logger.info({ conversationId, model, err: error }, "could not get a title from the model; keeping the first message's");
    }
  }
}
