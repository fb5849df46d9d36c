import Database from "better-sqlite3";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversations, messages } from "../../server/db/schema";
import { callerFor, createUser } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";
import { linkAsOneBranch } from "../helpers/tree";

const suite = useModelServerSuite();

async function signedIn() {
  const user = await createUser(suite.services);
  return { user, api: (await callerFor(suite.services, { userId: user.id })).api };
}

function touch(id: string, minutesAgo: number) {
  suite.services.db
    .update(conversations)
    .set({ updatedAt: new Date(Date.now() - minutesAgo * 60_000) })
    .where(eq(conversations.id, id))
    .run();
}

describe("conversations", () => {
  it("are created with a default title and model, or with the ones given", async () => {
    const { api } = await signedIn();
    expect(await api.conversations.create({})).toMatchObject({ title: "New chat", model: "fake-small", systemPrompt: null });
    const custom = await api.conversations.create({ title: "  Trip plans ", model: "fake-large", systemPrompt: "Answer in French." });
    expect(custom).toMatchObject({ title: "Trip plans", model: "fake-large", systemPrompt: "Answer in French." });
    expect(custom.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect(api.conversations.create({ model: "gpt-99" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "The model “gpt-99” is not available here. Choose one of: fake-small, fake-large.",
    });
    await expect(api.conversations.create({ title: "x".repeat(201) })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("take their title from the first message", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({});
    await api.chat.send({ conversationId: conversation.id, content: "  How do I bake\nsourdough bread at home?" });
    expect((await api.conversations.get({ id: conversation.id })).conversation.title).toBe("How do I bake");
    await api.chat.send({ conversationId: conversation.id, content: "And rye?" });
    expect((await api.conversations.get({ id: conversation.id })).conversation.title).toBe("How do I bake");

    const named = await api.conversations.create({ title: "Mine" });
    await api.chat.send({ conversationId: named.id, content: "Hello" });
    expect((await api.conversations.get({ id: named.id })).conversation.title).toBe("Mine");
  });

  it("list newest activity first, page by cursor, and never show another user's", async () => {
    const { api } = await signedIn();
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await api.conversations.create({ title: `Chat ${i}` }));
    created.forEach((conversation, i) => touch(conversation.id, 10 - i)); // Chat 6 is the newest
    await (await signedIn()).api.conversations.create({ title: "Someone else's" });

    const first = await api.conversations.list({ limit: 3 });
    expect(first.items.map((c) => c.title)).toEqual(["Chat 6", "Chat 5", "Chat 4"]);
    const second = await api.conversations.list({ limit: 3, cursor: first.nextCursor });
    expect(second.items.map((c) => c.title)).toEqual(["Chat 3", "Chat 2", "Chat 1"]);
    const third = await api.conversations.list({ limit: 3, cursor: second.nextCursor });
    expect(third).toEqual({ items: [expect.objectContaining({ title: "Chat 0" })], nextCursor: null });
    expect((await api.conversations.list({})).items).toHaveLength(7);

    await api.chat.send({ conversationId: created[0]!.id, content: "bump" });
    expect((await api.conversations.list({ limit: 1 })).items[0]!.id).toBe(created[0]!.id);
    await expect(api.conversations.list({ cursor: "garbage" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("search matches titles and message text, with % and _ taken literally", async () => {
    const { api } = await signedIn();
    const byTitle = await api.conversations.create({ title: "Quarterly budget" });
    const byMessage = await api.conversations.create({ title: "Misc" });
    await api.chat.send({ conversationId: byMessage.id, content: "What is the BUDGET for 100% of Q3?" });
    await api.conversations.create({ title: "Unrelated" });

    const found = await api.conversations.list({ search: "budget" });
    expect(found.items.map((c) => c.id).sort()).toEqual([byTitle.id, byMessage.id].sort());
    expect((await api.conversations.list({ search: "100%" })).items.map((c) => c.id)).toEqual([byMessage.id]);
    expect((await api.conversations.list({ search: "1_0" })).items).toEqual([]);
    expect((await api.conversations.list({ search: "Q3" })).items.map((c) => c.id)).toEqual([byMessage.id]);
    const stranger = (await signedIn()).api;
    expect((await stranger.conversations.list({ search: "budget" })).items).toEqual([]);
  });

  it("search finds a word that is in thousands of conversations", async () => {
    const { api } = await signedIn();
    const other = await signedIn();
    const now = Date.now();
    const many = Array.from({ length: 2_100 }, (_, i) => ({
      id: `other-${i}`,
      userId: other.user.id,
      title: "Theirs",
      model: "fake-small",
      createdAt: new Date(now),
      updatedAt: new Date(now),
    }));
    suite.services.db.transaction((tx) => {
      tx.insert(conversations).values(many).run();
      tx.insert(messages)
        .values(many.map((c) => ({ id: `m-${c.id}`, conversationId: c.id, role: "user" as const, content: "a common word" })))
        .run();
    });
    const mine = await api.conversations.create({ title: "Mine" });
    await api.chat.send({ conversationId: mine.id, content: "also a COMMON word" });
    expect((await api.conversations.list({ search: "common" })).items.map((c) => c.id)).toEqual([mine.id]);
    expect((await other.api.conversations.list({ search: "common", limit: 100 })).items).toHaveLength(100);
  });

  it("search finds replies once written, every version of them, and forgets deleted conversations", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({ title: "Misc" });
    suite.upstream.enqueue({ kind: "reply", text: 'The "zebra" crossing is striped.' });
    const { assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: "Tell me a fact" });
    const search = async (text: string) => (await api.conversations.list({ search: text })).items.map((c) => c.id);
    expect(await search("ZEBRA")).toEqual([conversation.id]);
    expect(await search('"zebra" cross')).toEqual([conversation.id]);

    suite.upstream.enqueue({ kind: "reply", text: "Giraffes are tall." });
    const regenerated = await api.chat.regenerate({ messageId: assistantMessage.id });
    await suite.services.generations.get(regenerated.assistantMessage.id)?.done;
    expect(await search("giraffe")).toEqual([conversation.id]);
    // A regenerated reply keeps the earlier one as another version, and so does the index.
    expect(await search("zebra")).toEqual([conversation.id]);

    await api.conversations.delete({ id: conversation.id });
    expect(await search("giraffe")).toEqual([]);
    expect(await search("Tell me")).toEqual([]);
  });

  it("a search hit names the newest message holding the text, on any branch, with the words around it; opening it shows its branch", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({ title: "Animals" });
    suite.upstream.enqueue({ kind: "reply", text: "Zebras have stripes. " + "Filler words go here. ".repeat(10) });
    const first = await api.chat.send({ conversationId: conversation.id, content: "Tell me about zebras" });
    suite.upstream.enqueue({ kind: "reply", text: "Giraffes are tall." });
    const again = await api.chat.regenerate({ messageId: first.assistantMessage.id });
    await suite.services.generations.get(again.assistantMessage.id)?.done;

    // The striped reply is not the version shown, and the hit names it.
    const [hit] = (await api.conversations.list({ search: "STRIPES" })).items;
    expect(hit).toMatchObject({ id: conversation.id, match: { messageId: first.assistantMessage.id } });
    expect(hit!.match!.excerpt).toMatch(/^Zebras have stripes\. Filler words go here\..*…$/);
    const page = await api.conversations.showBranch({ id: conversation.id, messageId: hit!.match!.messageId });
    expect(page.messages.map((message) => message.id)).toEqual([first.userMessage.id, first.assistantMessage.id]);

    // `get` with `through` reads that branch and changes nothing.
    const through = await api.conversations.get({ id: conversation.id, through: first.userMessage.id });
    expect(through.messages.map((message) => message.content)).toEqual(["Tell me about zebras", "Giraffes are tall."]);
    const hidden = await api.conversations.get({ id: conversation.id, through: first.assistantMessage.id });
    expect(hidden.messages.at(-1)!.id).toBe(first.assistantMessage.id);
    expect(hidden.conversation.currentLeafId).toBe(first.assistantMessage.id);
    await api.conversations.showBranch({ id: conversation.id, messageId: again.assistantMessage.id });
    expect((await api.conversations.get({ id: conversation.id, through: first.assistantMessage.id })).conversation.currentLeafId).toBe(
      again.assistantMessage.id,
    );
    await expect(api.conversations.get({ id: conversation.id, through: "nosuchmessage" })).rejects.toMatchObject({ code: "NOT_FOUND" });

    // Case is ignored in every script, in the excerpt as in the search.
    suite.upstream.enqueue({ kind: "reply", text: "Привет, мир!" });
    const greeting = await api.chat.send({ conversationId: conversation.id, content: "Say hello in Russian" });
    const [russian] = (await api.conversations.list({ search: "ПРИВЕТ" })).items;
    expect(russian!.match).toEqual({ messageId: greeting.assistantMessage.id, excerpt: "Привет, мир!" });

    // Only the title matched: no message to name. No search: no match at all.
    expect((await api.conversations.list({ search: "Animals" })).items[0]!.match).toBeNull();
    expect((await api.conversations.list({})).items[0]).not.toHaveProperty("match");
  });

  it("search still finds new messages while another process holds the write lock", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({ title: "Misc" });
    await api.chat.send({ conversationId: conversation.id, content: "Where do flamingos sleep?" });
    // The search index is caught up only when someone searches; now nobody can write.
    suite.services.db.$client.pragma("busy_timeout = 0");
    const other = new Database(suite.services.db.$client.name);
    other.exec("begin immediate");
    try {
      expect((await api.conversations.list({ search: "flamingo" })).items.map((c) => c.id)).toEqual([conversation.id]);
    } finally {
      other.exec("rollback");
      other.close();
    }
  });

  it("keep their place in the list when renamed or given another model or system prompt: only messages move them", async () => {
    const { api } = await signedIn();
    const older = await api.conversations.create({ title: "Older" });
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later millisecond
    const newer = await api.conversations.create({ title: "Newer" });
    await api.conversations.rename({ id: older.id, title: "Older, renamed" });
    await api.conversations.update({ id: older.id, systemPrompt: "Be brief." });
    expect((await api.conversations.list({})).items.map((item) => item.id)).toEqual([newer.id, older.id]);
  });

  it("open with their messages oldest first, rename, and delete with their messages", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({});
    await api.chat.send({ conversationId: conversation.id, content: "first" });
    await api.chat.send({ conversationId: conversation.id, content: "second" });
    const opened = await api.conversations.get({ id: conversation.id });
    expect(opened.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    expect(opened.messages[2]!.content).toBe("second");

    const renamed = await api.conversations.rename({ id: conversation.id, title: "Renamed" });
    expect(renamed.title).toBe("Renamed");
    await expect(api.conversations.rename({ id: conversation.id, title: "   " })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    // Invisible characters that turn text around or hide it cannot disguise one title as another.
    expect((await api.conversations.rename({ id: conversation.id, title: "Pay\u202Eroll\u200B plan" })).title).toBe("Payroll plan");
    expect((await api.conversations.rename({ id: conversation.id, title: "Pay\u061Croll\u00AD\u{E0041} plan" })).title).toBe(
      "Payroll plan",
    );
    await expect(api.conversations.rename({ id: conversation.id, title: "\u200B\u2066" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await api.conversations.rename({ id: conversation.id, title: "Renamed" });

    const updated = await api.conversations.update({ id: conversation.id, systemPrompt: "Be brief.", model: "fake-large" });
    expect(updated).toMatchObject({ title: "Renamed", systemPrompt: "Be brief.", model: "fake-large" });
    await expect(api.conversations.update({ id: conversation.id, model: "gpt-99" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect((await api.conversations.update({ id: conversation.id, systemPrompt: null })).systemPrompt).toBeNull();

    expect(await api.conversations.delete({ id: conversation.id })).toEqual({ ok: true });
    await expect(api.conversations.get({ id: conversation.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(suite.services.db.select().from(messages).where(eq(messages.conversationId, conversation.id)).all()).toEqual([]);
  });

  it("open a window of the latest messages, then earlier pages", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({});
    for (let i = 0; i < 5; i++) await api.chat.send({ conversationId: conversation.id, content: `q${i}` });
    const latest = await api.conversations.get({ id: conversation.id, limit: 4 });
    expect(latest.messages.map((m) => m.content.slice(0, 2))).toEqual([
      "q3",
      latest.messages[1]!.content.slice(0, 2),
      "q4",
      latest.messages[3]!.content.slice(0, 2),
    ]);
    expect(latest.messages[0]!.role).toBe("user");
    expect(latest.hasEarlier).toBe(true);
    const earlier = await api.conversations.get({ id: conversation.id, limit: 4, before: latest.messages[0]!.id });
    expect(earlier.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["q1", "q2"]);
    const first = await api.conversations.get({ id: conversation.id, limit: 4, before: earlier.messages[0]!.id });
    expect(first).toMatchObject({ hasEarlier: false, messages: [{ content: "q0" }, { role: "assistant" }] });
    const all = await api.conversations.get({ id: conversation.id });
    expect(all.messages).toHaveLength(10);
    expect([...first.messages, ...earlier.messages, ...latest.messages]).toEqual(all.messages);
  });

  it("open fewer of the latest messages when they are long, but never none", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({});
    for (const size of [100, 300, 500]) {
      suite.upstream.enqueue({ kind: "reply", text: "r".repeat(size) });
      await api.chat.send({ conversationId: conversation.id, content: "q".repeat(size) });
    }
    const lengths = async (maxChars: number, limit?: number) => {
      const page = await api.conversations.get({ id: conversation.id, maxChars, ...(limit ? { limit } : {}) });
      return [page.messages.map((message) => message.content.length), page.hasEarlier];
    };
    expect(await lengths(1000, 40)).toEqual([[500, 500], true]);
    expect(await lengths(1300, 40)).toEqual([[300, 500, 500], true]);
    expect(await lengths(10_000, 40)).toEqual([[100, 100, 300, 300, 500, 500], false]);
    expect(await lengths(10_000, 3)).toEqual([[300, 500, 500], true]);
    expect(await lengths(10)).toEqual([[500], true]);
  });

  it("one answer carries at most 500,000 characters of text, whatever it asks for", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({});
    // Stored straight away: sending 12 messages of 100,000 characters would take a minute of limits.
    const now = Date.now();
    for (let i = 0; i < 12; i++) {
      suite.services.db
        .insert(messages)
        .values({
          id: `long${String(i).padStart(12, "0")}`,
          conversationId: conversation.id,
          role: "user",
          content: String(i % 10).repeat(100_000),
          createdAt: new Date(now + i),
        })
        .run();
    }
    linkAsOneBranch(suite.services.db, conversation.id);
    for (const input of [{}, { limit: 10_000 }, { maxChars: 50_000_000 }]) {
      const page = await api.conversations.get({ id: conversation.id, ...input });
      expect(page.messages.map((message) => message.content[0])).toEqual(["7", "8", "9", "0", "1"]);
      expect(page.hasEarlier).toBe(true);
    }
  });

  it("belong to their owner: another user's id answers NOT_FOUND, exactly like a missing one", async () => {
    const owner = await signedIn();
    const conversation = await owner.api.conversations.create({ title: "Private" });
    const intruder = (await signedIn()).api;
    for (const id of [conversation.id, "does-not-exist"]) {
      const expected = { code: "NOT_FOUND", message: "That conversation does not exist, or it is not yours." };
      await expect(intruder.conversations.get({ id })).rejects.toMatchObject(expected);
      await expect(intruder.conversations.rename({ id, title: "Mine now" })).rejects.toMatchObject(expected);
      await expect(intruder.conversations.delete({ id })).rejects.toMatchObject(expected);
      await expect(intruder.conversations.update({ id, systemPrompt: "pwned" })).rejects.toMatchObject(expected);
      await expect(intruder.chat.send({ conversationId: id, content: "hi" })).rejects.toMatchObject(expected);
    }
    expect((await owner.api.conversations.get({ id: conversation.id })).conversation.title).toBe("Private");
  });
});
