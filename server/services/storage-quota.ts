import { and, count, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { conversations, messages } from "../db/schema";
import type { Env } from "../env";
import { ServiceError } from "./errors";

/**
 * What one person may keep: so many conversations, and so much text in them (messages, replies,
 * titles, system prompts). Without a bound one account made 3,500 conversations with 5 KB system
 * prompts in 2 s, and could fill the server's disk for everyone.
 *
 * Counting a person's text reads all of it (~1 ms per MB), so the total is kept for a while
 * and grown by what this server writes for them; replies, written later, are counted when it is
 * taken again. A reply can so pass the limit by what is written within STALE_AFTER_MS.
 */
export type QuotaConfig = Pick<Env, "STORAGE_PER_USER_MB" | "CONVERSATIONS_PER_USER">;

const STALE_AFTER_MS = 10 * 60_000;

export class StorageQuota {
  private readonly stored = new Map<string, { chars: number; takenAt: number }>();
  private readonly maxChars: number;

  constructor(
    private readonly db: Db,
    private readonly config: QuotaConfig,
  ) {
    this.maxChars = config.STORAGE_PER_USER_MB * 1_000_000;
  }

  /** Throws when `chars` more would take the person past what they may keep. */
  requireRoomFor(userId: string, chars: number): void {
    const used = this.usedBy(userId);
    if (used + chars <= this.maxChars) return;
    throw new ServiceError(
      "FORBIDDEN",
      `Your conversations hold ${megabytes(used)} of text, the most one person may keep here is ${megabytes(this.maxChars)}. Delete some conversations to make room.`,
    );
  }

  /** Throws when the person has as many conversations as they may keep. */
  requireConversationSlot(userId: string): void {
    const [row] = this.db.select({ n: count() }).from(conversations).where(eq(conversations.userId, userId)).all();
    const max = this.config.CONVERSATIONS_PER_USER;
    if ((row?.n ?? 0) < max) return;
    throw new ServiceError(
      "FORBIDDEN",
      `You have ${max.toLocaleString("en")} conversations, the most one person may keep here. Delete some to start new ones.`,
    );
  }

  /** Text this server just stored for the person. */
  added(userId: string, chars: number): void {
    const entry = this.stored.get(userId);
    if (entry) entry.chars += chars;
  }

  /**
   * Counts the person's text again at the next check: after deleting messages, whose replies
   * this server never added to its running total (they grow after the check), subtracting
   * them would undercount.
   */
  recount(userId: string): void {
    this.stored.delete(userId);
  }

  /** Text the person deleted. */
  removed(userId: string, chars: number): void {
    const entry = this.stored.get(userId);
    if (entry) entry.chars = Math.max(0, entry.chars - chars);
  }

  /** The text of one of the person's conversations (read before it is deleted: counting all again would read everything). */
  charsIn(userId: string, conversationId: string): number {
    return this.count(userId, conversationId);
  }

  private usedBy(userId: string): number {
    const entry = this.stored.get(userId);
    if (entry && performance.now() - entry.takenAt < STALE_AFTER_MS) return entry.chars;
    const chars = this.count(userId);
    this.stored.set(userId, { chars, takenAt: performance.now() });
    return chars;
  }

  /** The person's text: all of it, or one conversation's. */
  private count(userId: string, conversationId?: string): number {
    const owned = and(eq(conversations.userId, userId), conversationId ? eq(conversations.id, conversationId) : undefined);
    const [inConversations] = this.db
      .select({ chars: sql<number>`coalesce(sum(length(${conversations.title}) + coalesce(length(${conversations.systemPrompt}), 0)), 0)` })
      .from(conversations)
      .where(owned)
      .all();
    const [inMessages] = this.db
      .select({ chars: sql<number>`coalesce(sum(length(${messages.content})), 0)` })
      .from(messages)
      .innerJoin(conversations, eq(messages.conversationId, conversations.id))
      .where(owned)
      .all();
    return (inConversations?.chars ?? 0) + (inMessages?.chars ?? 0);
  }
}

function megabytes(chars: number): string {
  return `${(chars / 1_000_000).toLocaleString("en", { maximumFractionDigits: 1 })} MB`;
}
