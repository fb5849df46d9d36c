ALTER TABLE `conversations` ADD `current_leaf_id` text;--> statement-breakpoint
-- Every conversation so far is one branch: each question follows the message before it, in
-- the order the pages show (created_at, then rowid). Replies already point at their question.
UPDATE `messages` SET `parent_id` = (
  SELECT `previous`.`id` FROM `messages` AS `previous`
  WHERE `previous`.`conversation_id` = `messages`.`conversation_id`
    AND (`previous`.`created_at` < `messages`.`created_at`
      OR (`previous`.`created_at` = `messages`.`created_at` AND `previous`.`rowid` < `messages`.`rowid`))
  ORDER BY `previous`.`created_at` DESC, `previous`.`rowid` DESC
  LIMIT 1
) WHERE `role` = 'user' AND `parent_id` IS NULL;--> statement-breakpoint
-- The branch shown is the one that ends with the newest message.
UPDATE `conversations` SET `current_leaf_id` = (
  SELECT `id` FROM `messages`
  WHERE `messages`.`conversation_id` = `conversations`.`id`
  ORDER BY `created_at` DESC, `rowid` DESC
  LIMIT 1
);
