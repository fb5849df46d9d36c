-- A reply's thinking (reasoning models), how long it thought, why the model ended it
-- (`length`: it hit the longest reply asked for), and whether its usage was estimated here.
-- Columns are only added: every existing message keeps its text and reads as before.
ALTER TABLE `messages` ADD `reasoning` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `reasoning_ms` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `finish_reason` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `usage_estimated` integer DEFAULT false NOT NULL;