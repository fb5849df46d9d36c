ALTER TABLE `conversations` ADD `temperature` real;--> statement-breakpoint
ALTER TABLE `conversations` ADD `max_reply_tokens` integer;