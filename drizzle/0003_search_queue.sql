-- Search indexing leaves the writing transaction: indexing a message's trigrams there cost
-- about 0.15 ms a reply (FTS5 writes a new segment every commit, ~5× the cost per message of
-- indexing in batches). The triggers now only note which messages changed;
-- server/db/search-index.ts indexes them in batches a few times a second, and before every
-- search, so a search still sees every message.
CREATE TABLE `message_search_queue` (
	`message_rowid` integer PRIMARY KEY NOT NULL
);
--> statement-breakpoint
DROP TRIGGER `message_search_insert`;
--> statement-breakpoint
DROP TRIGGER `message_search_update`;
--> statement-breakpoint
DROP TRIGGER `message_search_delete`;
--> statement-breakpoint
CREATE TRIGGER `message_search_insert` AFTER INSERT ON `messages` WHEN new.`status` != 'streaming' BEGIN
  INSERT OR IGNORE INTO `message_search_queue` (`message_rowid`) VALUES (new.rowid);
END;
--> statement-breakpoint
-- A streaming reply's checkpoints change neither the index nor the queue.
CREATE TRIGGER `message_search_update` AFTER UPDATE OF `content`, `status` ON `messages`
  WHEN new.`status` != 'streaming' OR old.`status` != 'streaming' BEGIN
  INSERT OR IGNORE INTO `message_search_queue` (`message_rowid`) VALUES (new.rowid);
END;
--> statement-breakpoint
CREATE TRIGGER `message_search_delete` AFTER DELETE ON `messages` WHEN old.`status` != 'streaming' BEGIN
  INSERT OR IGNORE INTO `message_search_queue` (`message_rowid`) VALUES (old.rowid);
END;
