-- Search over message text: a trigram index finds any substring of 3+ characters without
-- reading every message of the person searching (see listConversations). Replies enter the
-- index when they stop streaming, so a checkpoint every second does not re-index them.
CREATE VIRTUAL TABLE `message_search` USING fts5(`content`, `conversation_id` UNINDEXED, tokenize = 'trigram case_sensitive 0');
--> statement-breakpoint
CREATE TRIGGER `message_search_insert` AFTER INSERT ON `messages` WHEN new.`status` != 'streaming' BEGIN
  INSERT INTO `message_search` (`rowid`, `content`, `conversation_id`) VALUES (new.rowid, new.`content`, new.`conversation_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `message_search_update` AFTER UPDATE OF `content`, `status` ON `messages` BEGIN
  DELETE FROM `message_search` WHERE old.`status` != 'streaming' AND `rowid` = old.rowid;
  INSERT INTO `message_search` (`rowid`, `content`, `conversation_id`)
    SELECT new.rowid, new.`content`, new.`conversation_id` WHERE new.`status` != 'streaming';
END;
--> statement-breakpoint
CREATE TRIGGER `message_search_delete` AFTER DELETE ON `messages` WHEN old.`status` != 'streaming' BEGIN
  DELETE FROM `message_search` WHERE `rowid` = old.rowid;
END;
--> statement-breakpoint
INSERT INTO `message_search` (`rowid`, `content`, `conversation_id`)
  SELECT rowid, `content`, `conversation_id` FROM `messages` WHERE `status` != 'streaming';
