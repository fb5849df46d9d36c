import { copyFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../server/db/client";
import { conversations, messages } from "../../server/db/schema";
import { startServer } from "../../server/server";
import { removeDatabaseFile, testEnv } from "../helpers/db";
import { createUser } from "../helpers/factories";
import { createAppRuntime } from "../../server/app-runtime";
import { linkAsOneBranch } from "../helpers/tree";

describe("after a crash", () => {
  it("the next start marks replies left streaming as interrupted and keeps every earlier message", async () => {
    const env = testEnv();
    const database = openDatabase(env.DATABASE_URL);
    const { services, close } = await createAppRuntime(database.db, env);
    const user = await createUser(services);
    database.db
      .insert(conversations)
      .values({ id: "crashconv0000001", userId: user.id, title: "Before the crash", model: "teamgpt-demo" })
      .run();
    const at = (ms: number) => new Date(Date.now() - 10_000 + ms);
    database.db
      .insert(messages)
      .values([
        { id: "crashmsg00000001", conversationId: "crashconv0000001", role: "user", content: "question", createdAt: at(0) },
        { id: "crashmsg00000002", conversationId: "crashconv0000001", role: "assistant", content: "full answer", createdAt: at(1) },
        { id: "crashmsg00000003", conversationId: "crashconv0000001", role: "user", content: "another", createdAt: at(2) },
        {
          id: "crashmsg00000004",
          conversationId: "crashconv0000001",
          role: "assistant",
          content: "half an ans",
          status: "streaming",
          createdAt: at(3),
        },
      ])
      .run();
    linkAsOneBranch(database.db, "crashconv0000001");
    await close();
    database.close();
    // What a SIGKILL leaves: the file as it was, opened by a new process.
    const copy = `${env.DATABASE_URL}.after-crash`;
    copyFileSync(env.DATABASE_URL, copy);

    const running = await startServer({ ...env, DATABASE_URL: copy });
    try {
      const reopened = openDatabase(copy);
      const rows = reopened.db.select().from(messages).where(eq(messages.conversationId, "crashconv0000001")).all();
      reopened.close();
      expect(rows.map((row) => [row.content, row.status])).toEqual([
        ["question", "complete"],
        ["full answer", "complete"],
        ["another", "complete"],
        ["half an ans", "interrupted"],
      ]);
    } finally {
      await running.close();
      removeDatabaseFile(env.DATABASE_URL);
      removeDatabaseFile(copy);
    }
  });
});
