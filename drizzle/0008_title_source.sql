ALTER TABLE `conversations` ADD `title_source` text DEFAULT 'default' NOT NULL;--> statement-breakpoint
-- Titles so far: "New chat" is the default; any other was written by the person or taken from
-- the first message, which cannot be told apart now: kept as the person's, never overwritten.
UPDATE `conversations` SET `title_source` = 'person' WHERE `title` != 'New chat';
