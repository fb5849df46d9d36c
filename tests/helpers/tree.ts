import { sql } from "drizzle-orm";
import type { Db } from "../../server/db/client";

/**
 * Messages inserted as rows, in order, made into one branch as TeamGPT makes them: each
 * follows the one before it (unless it names its parent already), and the conversation shows
 * the branch that ends with the newest. For seeding long histories fast (tests, benchmarks).
 */
export function linkAsOneBranch(db: Db, conversationId: string): void {
  db.run(sql`
    UPDATE messages SET parent_id = (
      SELECT previous.id FROM messages AS previous
      WHERE previous.conversation_id = messages.conversation_id
        AND (previous.created_at < messages.created_at
          OR (previous.created_at = messages.created_at AND previous.rowid < messages.rowid))
      ORDER BY previous.created_at DESC, previous.rowid DESC
      LIMIT 1
    ) WHERE conversation_id = ${conversationId} AND parent_id IS NULL`);
  db.run(sql`
    UPDATE conversations SET current_leaf_id = (
      SELECT id FROM messages WHERE conversation_id = ${conversationId} ORDER BY created_at DESC, rowid DESC LIMIT 1
    ) WHERE id = ${conversationId}`);
}
