ALTER TABLE `messages` ADD `parent_id` text;--> statement-breakpoint
CREATE INDEX `messages_parent_idx` ON `messages` (`parent_id`);