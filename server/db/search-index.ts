import type { Logger } from "../logger";
import type { Db } from "./client";
import { preparedOnce } from "./prepared";
import { unavailableReason, writeGateOf } from "./write-gate";

/**
 * Keeps the trigram index of message text (`message_search`, drizzle/0002) in step with
 * `messages`. Writes only queue the rowids of changed messages (drizzle/0003's triggers):
 * FTS5 writes a new index segment on every commit, so indexing each reply inside its own
 * commit cost about five times as much per message as indexing a batch of them, and held up
 * every stream for it. Searches catch the index up first, so they never miss a message.
 */

const BATCH = 500;
const INTERVAL_MS = 500;

/**
 * Indexes up to `limit` queued messages in one transaction: each is dropped from the index,
 * then added back unless it is gone or still streaming. Returns how many it handled.
 */
export function indexQueuedMessages(db: Db, limit = BATCH): number {
  const statements = statementsFor(db);
  // Most runs find nothing queued: one read, no write transaction.
  if (statements.lastQueued.get({ limit }) === null) return 0;
  const gate = writeGateOf(db.$client);
  // Another process holds the write lock: waiting for it here would hold up every stream.
  gate.beforeWrite();
  try {
    return statements.indexBatch.immediate(limit);
  } catch (error) {
    throw gate.failed(error);
  }
}

/** Indexes everything queued: before a search reads the index. */
export function catchUpSearchIndex(db: Db): void {
  while (indexQueuedMessages(db) > 0);
}

// Plain SQL on the driver, compiled once: Drizzle would rebuild these on every run, which
// took longer than running them, and `message_search` is not a Drizzle table.
function statementsFor(db: Db) {
  return preparedOnce(db, "searchIndex", () => {
    const sqlite = db.$client;
    const lastQueued = sqlite
      .prepare<{ limit: number }, number | null>(
        "select max(message_rowid) from (select message_rowid from message_search_queue order by message_rowid limit :limit)",
      )
      .pluck();
    const batch = "select message_rowid from message_search_queue where message_rowid <= :upTo";
    const unindex = sqlite.prepare(`delete from message_search where rowid in (${batch})`);
    const index = sqlite.prepare(
      `insert into message_search (rowid, content, conversation_id)
       select rowid, content, conversation_id from messages where rowid in (${batch}) and status != 'streaming'`,
    );
    const dequeue = sqlite.prepare("delete from message_search_queue where message_rowid <= :upTo");
    const indexBatch = sqlite.transaction((limit: number): number => {
      // Read again inside the write lock: another process may have queued more meanwhile.
      const upTo = lastQueued.get({ limit });
      if (upTo === null || upTo === undefined) return 0;
      unindex.run({ upTo });
      index.run({ upTo });
      return dequeue.run({ upTo }).changes;
    });
    return { lastQueued, indexBatch };
  });
}

export interface SearchIndexer {
  /** Stops the timer and indexes what is still queued. */
  stop(): void;
}

/**
 * Catches the index up now (another process, or a crash, may have left messages queued), then
 * indexes a batch every half second.
 */
export function startSearchIndexer(db: Db, logger: Logger, intervalMs = INTERVAL_MS): SearchIndexer {
  const run = (index: () => void) => {
    try {
      index();
    } catch (error) {
      // The queue stays as it was; the next run or search tries again.
      if (!unavailableReason(error)) logger.error({ err: error }, "could not update the search index");
    }
  };
  run(() => catchUpSearchIndex(db));
  const timer = setInterval(() => run(() => indexQueuedMessages(db)), intervalMs).unref();
  return {
    stop() {
      clearInterval(timer);
      run(() => catchUpSearchIndex(db));
    },
  };
}
