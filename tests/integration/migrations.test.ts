import { describe, expect, it } from "vitest";
import { databaseMigratedUpTo } from "../helpers/migrations";

const count = (sqlite: import("better-sqlite3").Database, table: string) =>
  (sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;

describe("upgrading a database made by the previous release", () => {
  it("0004: sessions stored the old way end, and nothing else is touched", () => {
    const old = databaseMigratedUpTo("0003_search_queue");
    try {
      const sqlite = old.database.sqlite;
      sqlite.exec(`
        insert into users (id, username, username_key, password_hash, role) values ('u1', 'Alice', 'alice', 'hash', 'admin');
        insert into sessions (id, user_id, expires_at) values ('plain-token-1', 'u1', 4102444800), ('plain-token-2', 'u1', 4102444800);
        insert into registration_keys (id, key, note) values ('k1', 'tgk_abcdefghijklmnop', 'team');
        insert into conversations (id, user_id, title, model) values ('c1', 'u1', 'Kept', 'm');
        insert into messages (id, conversation_id, role, content, status) values ('m1', 'c1', 'user', 'hello', 'complete');
        insert into messages (id, conversation_id, role, content, status, parent_id) values ('m2', 'c1', 'assistant', 'hi there', 'complete', 'm1');
      `);
      old.upgrade();
      expect(count(sqlite, "sessions")).toBe(0);
      expect(sqlite.prepare("select id, username from users").all()).toEqual([{ id: "u1", username: "Alice" }]);
      expect(count(sqlite, "registration_keys")).toBe(1);
      expect(sqlite.prepare("select id, content, parent_id as parentId from messages order by id").all()).toEqual([
        { id: "m1", content: "hello", parentId: null },
        { id: "m2", content: "hi there", parentId: "m1" },
      ]);
      expect(sqlite.prepare("select title from conversations").get()).toEqual({ title: "Kept" });
    } finally {
      old.dispose();
    }
  });

  it("0005: every message keeps its text, status and usage, and reads as no thinking, no finish reason, usage reported", () => {
    const old = databaseMigratedUpTo("0004_hashed_sessions");
    try {
      const sqlite = old.database.sqlite;
      sqlite.exec(`
        insert into users (id, username, username_key, password_hash, role) values ('u1', 'Alice', 'alice', 'hash', 'admin');
        insert into conversations (id, user_id, title, model) values ('c1', 'u1', 'Kept', 'm');
        insert into messages (id, conversation_id, role, content, status) values ('m1', 'c1', 'user', 'hello', 'complete');
        insert into messages (id, conversation_id, role, content, status, parent_id, prompt_tokens, completion_tokens)
          values ('m2', 'c1', 'assistant', 'hi there', 'complete', 'm1', 12, 3);
        insert into messages (id, conversation_id, role, content, status, error, parent_id)
          values ('m3', 'c1', 'assistant', 'half', 'error', 'It failed.', 'm1');
      `);
      old.upgrade();
      expect(
        sqlite
          .prepare(
            "select id, content, status, error, prompt_tokens as p, completion_tokens as c, reasoning, reasoning_ms as ms, finish_reason as finish, usage_estimated as estimated from messages order by id",
          )
          .all(),
      ).toEqual([
        {
          id: "m1",
          content: "hello",
          status: "complete",
          error: null,
          p: null,
          c: null,
          reasoning: "",
          ms: null,
          finish: null,
          estimated: 0,
        },
        {
          id: "m2",
          content: "hi there",
          status: "complete",
          error: null,
          p: 12,
          c: 3,
          reasoning: "",
          ms: null,
          finish: null,
          estimated: 0,
        },
        {
          id: "m3",
          content: "half",
          status: "error",
          error: "It failed.",
          p: null,
          c: null,
          reasoning: "",
          ms: null,
          finish: null,
          estimated: 0,
        },
      ]);
    } finally {
      old.dispose();
    }
  });

  it("0006: a new table for reset links; every account and message is kept", () => {
    const old = databaseMigratedUpTo("0005_reasoning_and_finish");
    try {
      const sqlite = old.database.sqlite;
      sqlite.exec(`
        insert into users (id, username, username_key, password_hash, role) values ('u1', 'Alice', 'alice', 'hash', 'admin');
        insert into conversations (id, user_id, title, model) values ('c1', 'u1', 'Kept', 'm');
        insert into messages (id, conversation_id, role, content, status, reasoning) values ('m1', 'c1', 'assistant', 'hi', 'complete', 'hmm');
      `);
      old.upgrade();
      expect(sqlite.prepare("select id, password_hash as hash from users").all()).toEqual([{ id: "u1", hash: "hash" }]);
      expect(sqlite.prepare("select content, reasoning from messages").all()).toEqual([{ content: "hi", reasoning: "hmm" }]);
      expect(count(sqlite, "password_resets")).toBe(0);
    } finally {
      old.dispose();
    }
  });

  it("0007: every conversation becomes one branch, in the order it showed, none lost or reordered", () => {
    const old = databaseMigratedUpTo("0006_password_resets");
    try {
      const sqlite = old.database.sqlite;
      sqlite.exec(`
        insert into users (id, username, username_key, password_hash, role) values ('u1', 'Alice', 'alice', 'hash', 'admin');
        insert into conversations (id, user_id, title, model) values ('c1', 'u1', 'Long', 'm'), ('c2', 'u1', 'Empty', 'm'), ('c3', 'u1', 'Other', 'm');
        insert into messages (id, conversation_id, role, content, status, created_at, parent_id) values
          ('q1', 'c1', 'user', 'first', 'complete', 1000, null),
          ('a1', 'c1', 'assistant', 'one', 'complete', 1001, 'q1'),
          ('q2', 'c1', 'user', 'second', 'complete', 2000, null),
          ('a2', 'c1', 'assistant', 'failed', 'error', 2001, 'q2'),
          -- Same millisecond: rowid decides, as the pages did.
          ('q3', 'c1', 'user', 'third', 'complete', 3000, null),
          ('a3', 'c1', 'assistant', 'three', 'complete', 3000, 'q3'),
          ('x1', 'c3', 'user', 'elsewhere', 'complete', 2500, null);
      `);
      const before = sqlite.prepare("select id, content, status from messages order by conversation_id, created_at, rowid").all();
      old.upgrade();
      expect(sqlite.prepare("select id, content, status from messages order by conversation_id, created_at, rowid").all()).toEqual(before);
      expect(
        sqlite.prepare("select id, parent_id as parentId from messages where conversation_id = 'c1' order by created_at, rowid").all(),
      ).toEqual([
        { id: "q1", parentId: null },
        { id: "a1", parentId: "q1" },
        { id: "q2", parentId: "a1" },
        { id: "a2", parentId: "q2" },
        { id: "q3", parentId: "a2" },
        { id: "a3", parentId: "q3" },
      ]);
      expect(sqlite.prepare("select parent_id as parentId from messages where id = 'x1'").get()).toEqual({ parentId: null });
      expect(sqlite.prepare("select id, current_leaf_id as leaf from conversations order by id").all()).toEqual([
        { id: "c1", leaf: "a3" },
        { id: "c2", leaf: null },
        { id: "c3", leaf: "x1" },
      ]);
    } finally {
      old.dispose();
    }
  });

  it('0008: titles so far stay as they are and are never overwritten; "New chat" is still the default', () => {
    const old = databaseMigratedUpTo("0007_message_tree");
    try {
      const sqlite = old.database.sqlite;
      sqlite.exec(`
        insert into users (id, username, username_key, password_hash, role) values ('u1', 'Alice', 'alice', 'hash', 'admin');
        insert into conversations (id, user_id, title, model) values ('c1', 'u1', 'Trip plans', 'm'), ('c2', 'u1', 'New chat', 'm');
        insert into messages (id, conversation_id, role, content, status) values ('q1', 'c1', 'user', 'Where to?', 'complete');
      `);
      old.upgrade();
      expect(sqlite.prepare("select id, title, title_source as source from conversations order by id").all()).toEqual([
        { id: "c1", title: "Trip plans", source: "person" },
        { id: "c2", title: "New chat", source: "default" },
      ]);
      expect(count(sqlite, "messages")).toBe(1);
    } finally {
      old.dispose();
    }
  });

  it("0009: conversations keep everything and start with the default temperature and longest reply", () => {
    const old = databaseMigratedUpTo("0008_title_source");
    try {
      const sqlite = old.database.sqlite;
      sqlite.exec(`
        insert into users (id, username, username_key, password_hash, role) values ('u1', 'Alice', 'alice', 'hash', 'admin');
        insert into conversations (id, user_id, title, title_source, model, system_prompt) values ('c1', 'u1', 'Kept', 'model', 'm', 'Be brief.');
      `);
      old.upgrade();
      expect(
        sqlite
          .prepare(
            "select title, title_source as source, model, system_prompt as systemPrompt, temperature, max_reply_tokens as maxReplyTokens from conversations",
          )
          .all(),
      ).toEqual([{ title: "Kept", source: "model", model: "m", systemPrompt: "Be brief.", temperature: null, maxReplyTokens: null }]);
    } finally {
      old.dispose();
    }
  });
});
