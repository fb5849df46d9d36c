import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** The one source of row types: every service derives its types from these tables. */

const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" })
    .notNull()
    .default(sql`(cast(unixepoch('subsecond') * 1000 as integer))`);

export const userRoles = ["admin", "user"] as const;
export type UserRole = (typeof userRoles)[number];

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    // Lower-cased copy: usernames are unique ignoring case, shown as typed.
    usernameKey: text("username_key").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: userRoles }).notNull().default("user"),
    disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex("users_username_key_unique").on(table.usernameKey)],
);

/** Lucia's table: `expires_at` is in unix seconds, as @lucia-auth/adapter-drizzle writes it. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    expiresAt: integer("expires_at").notNull(),
  },
  (table) => [index("sessions_user_id_idx").on(table.userId)],
);

export const registrationKeys = sqliteTable(
  "registration_keys",
  {
    id: text("id").primaryKey(),
    key: text("key").notNull(),
    note: text("note"),
    createdAt: createdAt(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
    usedBy: text("used_by").references(() => users.id, { onDelete: "set null" }),
  },
  (table) => [uniqueIndex("registration_keys_key_unique").on(table.key), index("registration_keys_created_at_idx").on(table.createdAt)],
);

export const titleSources = ["default", "message", "model", "person"] as const;

export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    /**
     * Who wrote the title: `default` ("New chat"), `message` (the first message's first line),
     * `model` (written by a model after the first reply), `person` (never overwritten).
     */
    titleSource: text("title_source", { enum: titleSources }).notNull().default("default"),
    model: text("model").notNull(),
    systemPrompt: text("system_prompt"),
    /** Sampling temperature sent with every reply; null: the model server's default. */
    temperature: real("temperature"),
    /** The longest reply asked for, in tokens; null: MAX_REPLY_TOKENS. */
    maxReplyTokens: integer("max_reply_tokens"),
    // The branch shown: the last message of the path from the first message (a message tree).
    currentLeafId: text("current_leaf_id"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" })
      .notNull()
      .default(sql`(cast(unixepoch('subsecond') * 1000 as integer))`),
  },
  (table) => [index("conversations_user_updated_idx").on(table.userId, table.updatedAt)],
);

export const messageRoles = ["user", "assistant", "system"] as const;
export const messageStatuses = ["complete", "streaming", "stopped", "error", "interrupted"] as const;
/** Why the model ended a reply, when it said: `length` means it hit the longest reply asked for. */
export const finishReasons = ["stop", "length"] as const;
export type FinishReason = (typeof finishReasons)[number];

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    role: text("role", { enum: messageRoles }).notNull(),
    content: text("content").notNull().default(""),
    // A reasoning model's thinking before its answer: shown folded, never sent back upstream.
    reasoning: text("reasoning").notNull().default(""),
    // How long it thought: from its first reasoning token to its first word of answer.
    reasoningMs: integer("reasoning_ms"),
    status: text("status", { enum: messageStatuses }).notNull().default("complete"),
    model: text("model"),
    error: text("error"),
    // Lets a client resend a message safely: the same id never makes a second message.
    clientMessageId: text("client_message_id"),
    // The message this one follows: a reply its question, a question the reply before it (null
    // for a conversation's first messages). Siblings (same parent) are versions: edits, regenerations.
    parentId: text("parent_id"),
    finishReason: text("finish_reason", { enum: finishReasons }),
    promptTokens: integer("prompt_tokens"),
    completionTokens: integer("completion_tokens"),
    // Counted here, not by the model server (it sent none: the reply was stopped, timed out or failed).
    usageEstimated: integer("usage_estimated", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
  },
  (table) => [
    index("messages_conversation_created_idx").on(table.conversationId, table.createdAt),
    uniqueIndex("messages_client_message_id_unique").on(table.conversationId, table.clientMessageId),
    index("messages_status_idx").on(table.status),
    index("messages_parent_idx").on(table.parentId),
  ],
);

/**
 * One-time links that let a person choose a new password (an admin made it, or
 * `npm run users:reset-password`). One per person: a new link replaces the old. Only the
 * SHA-256 of the link's token is stored, as for sessions.
 */
export const passwordResets = sqliteTable(
  "password_resets",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    // Null when made from the command line.
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [uniqueIndex("password_resets_user_unique").on(table.userId), uniqueIndex("password_resets_token_unique").on(table.tokenHash)],
);

/**
 * Messages whose text changed since the search index last caught up (by SQLite rowid, which
 * the index shares with `messages`). Triggers fill it in the writing transaction;
 * server/db/search-index.ts empties it in batches (drizzle/0003_search_queue.sql).
 */
export const messageSearchQueue = sqliteTable("message_search_queue", {
  messageRowid: integer("message_rowid").primaryKey(),
});

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type RegistrationKeyRow = typeof registrationKeys.$inferSelect;
export type ConversationRow = typeof conversations.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
