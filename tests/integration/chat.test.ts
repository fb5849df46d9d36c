import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { messages } from "../../server/db/schema";
import { tokenize } from "../../server/llm/fake-upstream";
import { markInterruptedReplies } from "../../server/services/replies";
import { collect, eventually, lastEvent, textOf } from "../helpers/chat";
import { callerFor, createUser } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";
import { linkAsOneBranch } from "../helpers/tree";

const suite = useModelServerSuite();

const REPLY = "Sourdough needs a lively starter, flour, water and salt. Let it rise slowly overnight.";

async function signedIn() {
  const user = await createUser(suite.services);
  const { api } = await callerFor(suite.services, { userId: user.id });
  const conversation = await api.conversations.create({});
  return { user, api, conversation };
}

function storedMessage(id: string) {
  return suite.services.db.select().from(messages).where(eq(messages.id, id)).get()!;
}

describe("streaming a reply", () => {
  it("batches tokens that arrive within 15 ms into one event, losing none", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 1 });
    const events = await collect(await api.chat.stream({ conversationId: conversation.id, content: "fast" }));
    const deltas = events.filter((event) => event.data.type === "delta").length;
    expect(deltas).toBeGreaterThan(0);
    expect(deltas).toBeLessThan(tokenize(REPLY).length);
    expect(textOf(events)).toBe(REPLY);
  });

  it("sends start, the deltas in order, then done; what streamed is what is stored", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 25 });
    const events = await collect(await api.chat.stream({ conversationId: conversation.id, content: "How do I bake bread?" }));

    const start = events[0]!.data;
    expect(start).toMatchObject({
      type: "start",
      userMessage: { role: "user", content: "How do I bake bread?" },
      assistantMessage: { role: "assistant", status: "streaming", content: "" },
    });
    // Tokens 25 ms apart arrive about one event each (closer ones are batched in a 15 ms window;
    // a busy machine can delay a token into the next one's window).
    const deltas = events.filter((event) => event.data.type === "delta").length;
    expect(deltas).toBeGreaterThanOrEqual(Math.floor(tokenize(REPLY).length * 0.7));
    expect(deltas).toBeLessThanOrEqual(tokenize(REPLY).length);
    expect(textOf(events)).toBe(REPLY);
    const done = lastEvent(events);
    expect(done).toMatchObject({ type: "done", assistantMessage: { status: "complete", content: REPLY, model: "fake-small" } });

    const stored = (await api.conversations.get({ id: conversation.id })).messages;
    expect(stored.map((message) => [message.role, message.content, message.status])).toEqual([
      ["user", "How do I bake bread?", "complete"],
      ["assistant", REPLY, "complete"],
    ]);
    expect(stored[1]!.usage).toEqual({ promptTokens: 5, completionTokens: tokenize(REPLY).length, estimated: false });
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it("a dropped connection loses nothing: the reply completes and is saved", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 5 });
    // Leaving the loop early is what a closed tab does to the subscription.
    const events = await collect(
      await api.chat.stream({ conversationId: conversation.id, content: "bread?" }),
      (seen) => seen.length === 3,
    );
    expect(events).toHaveLength(3);
    const replyId = (events[0]!.data as { assistantMessage: { id: string } }).assistantMessage.id;
    const saved = await eventually(() => {
      const row = storedMessage(replyId);
      return row.status === "complete" && row;
    });
    expect(saved.content).toBe(REPLY);
    expect(suite.upstream.requests[0]!.closedEarly).toBe(false);
  });

  it("resuming from an event in the middle gives exactly the rest, live or after the reply is saved", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 5 });
    const firstPart = await collect(
      await api.chat.stream({ conversationId: conversation.id, content: "bread?" }),
      (seen) => seen.length === 4,
    );
    const replyId = (firstPart[0]!.data as { assistantMessage: { id: string } }).assistantMessage.id;
    const lastSeen = firstPart.at(-1)!.id;

    const live = await collect(await api.chat.resume({ messageId: replyId, lastEventId: lastSeen }));
    expect(live[0]!.data.type).toBe("delta");
    expect(textOf(firstPart) + textOf(live)).toBe(REPLY);
    expect(lastEvent(live)).toMatchObject({ type: "done", assistantMessage: { content: REPLY } });

    const afterwards = await collect(await api.chat.resume({ messageId: replyId, lastEventId: lastSeen }));
    expect(textOf(firstPart) + textOf(afterwards)).toBe(REPLY);
    const fromStart = await collect(await api.chat.resume({ messageId: replyId }));
    expect(fromStart.map((event) => event.data.type)).toEqual(["start", "delta", "done"]);
    expect(textOf(fromStart)).toBe(REPLY);
  });

  it("a reconnect of chat.stream with lastEventId follows the same reply instead of sending again", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 5 });
    const input = { conversationId: conversation.id, content: "bread?" };
    const firstPart = await collect(await api.chat.stream(input), (seen) => seen.length === 3);
    const rest = await collect(await api.chat.stream({ ...input, lastEventId: firstPart.at(-1)!.id }));
    expect(textOf(firstPart) + textOf(rest)).toBe(REPLY);
    expect(suite.upstream.requests).toHaveLength(1);
    expect((await api.conversations.get({ id: conversation.id })).messages).toHaveLength(2);
  });

  it("the same clientMessageId twice makes one user message and one generation", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 2 });
    const input = { conversationId: conversation.id, content: "bread?", clientMessageId: "client-1" };
    const [first, second] = await Promise.all([collect(await api.chat.stream(input)), collect(await api.chat.stream(input))]);
    expect(textOf(first)).toBe(REPLY);
    expect(textOf(second)).toBe(REPLY);
    const third = await api.chat.send(input);
    expect(third.assistantMessage.content).toBe(REPLY);
    expect(suite.upstream.requests).toHaveLength(1);
    expect((await api.conversations.get({ id: conversation.id })).messages).toHaveLength(2);
  });

  it("refuses a second message while a reply is being written, and a model outside the list", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 10 });
    const running = await collect(await api.chat.stream({ conversationId: conversation.id, content: "one" }), (seen) => seen.length === 2);
    await expect(api.chat.send({ conversationId: conversation.id, content: "two" })).rejects.toMatchObject({ code: "CONFLICT" });
    await api.chat.stop({ messageId: (running[0]!.data as { assistantMessage: { id: string } }).assistantMessage.id });
    await expect(api.chat.send({ conversationId: conversation.id, content: "three", model: "gpt-99" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "The model “gpt-99” is not available here. Choose one of: fake-small, fake-large.",
    });
    const other = await api.chat.send({ conversationId: conversation.id, content: "four", model: "fake-large" });
    expect(other.assistantMessage.model).toBe("fake-large");
    expect(suite.upstream.requests.at(-1)!.model).toBe("fake-large");
  });
});

describe("regenerating a reply", () => {
  it("replaces the latest reply with a new one for the same question", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "status", status: 502 });
    const failed = await api.chat.send({ conversationId: conversation.id, content: "bread?" });
    expect(failed.assistantMessage.status).toBe("error");

    suite.upstream.enqueue({ kind: "reply", text: REPLY });
    const { assistantMessage } = await api.chat.regenerate({ messageId: failed.assistantMessage.id, model: "fake-large" });
    expect(assistantMessage).toMatchObject({ status: "streaming", model: "fake-large" });
    const events = await collect(await api.chat.resume({ messageId: assistantMessage.id }));
    expect(lastEvent(events)).toMatchObject({ type: "done", assistantMessage: { content: REPLY } });
    const stored = (await api.conversations.get({ id: conversation.id })).messages;
    expect(stored.map((message) => [message.role, message.content])).toEqual([
      ["user", "bread?"],
      ["assistant", REPLY],
    ]);
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([{ role: "user", content: "bread?" }]);
  });

  it("a reply whose model is no longer offered is regenerated with the conversation's model", async () => {
    const { api, conversation } = await signedIn();
    const { assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: "old" });
    suite.services.db.update(messages).set({ model: "gpt-retired" }).where(eq(messages.id, assistantMessage.id)).run();
    const again = await api.chat.regenerate({ messageId: assistantMessage.id });
    expect(again.assistantMessage.model).toBe(conversation.model);
  });

  it("an earlier reply too: a new branch from its question, the later exchange kept on the old one; never another user's", async () => {
    const { api, conversation } = await signedIn();
    const first = await api.chat.send({ conversationId: conversation.id, content: "one" });
    const second = await api.chat.send({ conversationId: conversation.id, content: "two" });
    suite.upstream.enqueue({ kind: "reply", text: "one again" });
    const { assistantMessage } = await api.chat.regenerate({ messageId: first.assistantMessage.id });
    await suite.services.generations.get(assistantMessage.id)?.done;
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([{ role: "user", content: "one" }]);
    const page = await api.conversations.get({ id: conversation.id });
    expect(page.messages.map((message) => message.content)).toEqual(["one", "one again"]);
    expect(page.messages[1]!.versionIds).toEqual([first.assistantMessage.id, assistantMessage.id]);
    const old = await api.conversations.showBranch({ id: conversation.id, messageId: first.assistantMessage.id });
    expect(old.messages.map((message) => message.id)).toEqual([
      first.userMessage.id,
      first.assistantMessage.id,
      second.userMessage.id,
      second.assistantMessage.id,
    ]);
    const intruder = (await signedIn()).api;
    await expect(intruder.chat.regenerate({ messageId: first.assistantMessage.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("a conversation is a tree", () => {
  it("a regenerated reply is a new version beside the old one, which is kept; the next message follows the new one", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: "first answer" });
    const first = await api.chat.send({ conversationId: conversation.id, content: "question" });
    suite.upstream.enqueue({ kind: "reply", text: "second answer" });
    const { assistantMessage } = await api.chat.regenerate({ messageId: first.assistantMessage.id });
    await suite.services.generations.get(assistantMessage.id)?.done;

    // Both versions are stored, under the same question; the page shows the newer.
    expect(storedMessage(first.assistantMessage.id)).toMatchObject({ content: "first answer", parentId: first.userMessage.id });
    expect(storedMessage(assistantMessage.id)).toMatchObject({ content: "second answer", parentId: first.userMessage.id });
    const shown = (await api.conversations.get({ id: conversation.id })).messages;
    expect(shown.map((message) => message.content)).toEqual(["question", "second answer"]);

    // The model sees the branch shown: never the other version.
    suite.upstream.enqueue({ kind: "reply", text: "third" });
    const next = await api.chat.send({ conversationId: conversation.id, content: "and then?" });
    expect(storedMessage(next.userMessage.id).parentId).toBe(assistantMessage.id);
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([
      { role: "user", content: "question" },
      { role: "assistant", content: "second answer" },
      { role: "user", content: "and then?" },
    ]);
  });
});

describe("versions: edit and resend, choose a branch", () => {
  async function conversationOfTwoTurns() {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: "a1" }, { kind: "reply", text: "a2" });
    const first = await api.chat.send({ conversationId: conversation.id, content: "q1" });
    const second = await api.chat.send({ conversationId: conversation.id, content: "q2" });
    return { api, conversation, first, second };
  }
  const shown = async (api: Awaited<ReturnType<typeof signedIn>>["api"], id: string) =>
    (await api.conversations.get({ id })).messages.map((message) => [message.content, message.versionIds.length]);

  it("editing a message makes a sibling with the new text and answers it; the old branch stays whole", async () => {
    const { api, conversation, first, second } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "a2 again" });
    const edited = await api.chat.edit({ messageId: second.userMessage.id, content: "q2, better" });
    await suite.services.generations.get(edited.assistantMessage.id)?.done;
    expect(edited.userMessage.parentId).toBe(first.assistantMessage.id);
    expect(await shown(api, conversation.id)).toEqual([
      ["q1", 1],
      ["a1", 1],
      ["q2, better", 2],
      ["a2 again", 1],
    ]);
    // The model saw the new branch only.
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
      { role: "user", content: "q2, better" },
    ]);
    // The old version, and the reply under it, are still there: choosing it shows them.
    const back = await api.conversations.showBranch({ id: conversation.id, messageId: second.userMessage.id });
    expect(back.messages.map((message) => message.content)).toEqual(["q1", "a1", "q2", "a2"]);
    expect(back.messages[2]!.versionIds).toEqual([second.userMessage.id, edited.userMessage.id]);
    // Remembered by the conversation, for a reload or another device.
    expect((await api.conversations.get({ id: conversation.id })).conversation.currentLeafId).toBe(second.assistantMessage.id);
  });

  it("editing the first message starts a new first message; counts stay right after regenerating on either branch", async () => {
    const { api, conversation, first } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "b1" });
    const edited = await api.chat.edit({ messageId: first.userMessage.id, content: "q1 other" });
    await suite.services.generations.get(edited.assistantMessage.id)?.done;
    expect(edited.userMessage.parentId).toBeNull();
    suite.upstream.enqueue({ kind: "reply", text: "b1 again" });
    const again = await api.chat.regenerate({ messageId: edited.assistantMessage.id });
    await suite.services.generations.get(again.assistantMessage.id)?.done;
    expect(await shown(api, conversation.id)).toEqual([
      ["q1 other", 2],
      ["b1 again", 2],
    ]);
    const old = await api.conversations.showBranch({ id: conversation.id, messageId: first.userMessage.id });
    expect(old.messages.map((message) => [message.content, message.versionIds.length])).toEqual([
      ["q1", 2],
      ["a1", 1],
      ["q2", 1],
      ["a2", 1],
    ]);
  });

  it("one running reply per branch: another branch can start while a reply streams, the same branch cannot", async () => {
    const { api, conversation, second } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "slow ".repeat(40), tokenDelayMs: 20 });
    const running = await api.chat.start({ conversationId: conversation.id, content: "q3" });
    // Following the reply still being written: refused.
    await expect(api.chat.send({ conversationId: conversation.id, content: "q4" })).rejects.toMatchObject({ code: "CONFLICT" });
    // Another branch, from an earlier reply: goes ahead, and both finish.
    suite.upstream.enqueue({ kind: "reply", text: "elsewhere" });
    const other = await api.chat.edit({ messageId: second.userMessage.id, content: "q2, another way" });
    const [otherReply, runningReply] = await Promise.all([
      suite.services.generations.get(other.assistantMessage.id)?.done,
      suite.services.generations.get(running.assistantMessage.id)?.done,
    ]);
    expect(otherReply).toMatchObject({ status: "complete", content: "elsewhere" });
    expect(runningReply).toMatchObject({ status: "complete", content: "slow ".repeat(40) });
    // The branch started last is the one shown.
    expect((await api.conversations.get({ id: conversation.id })).messages.map((message) => message.content)).toEqual([
      "q1",
      "a1",
      "q2, another way",
      "elsewhere",
    ]);
  });

  it("a message can branch from any reply of its conversation (parentId), and only from a reply", async () => {
    const { api, conversation, first, second } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "from a1" });
    const branched = await api.chat.send({ conversationId: conversation.id, content: "q2 alt", parentId: first.assistantMessage.id });
    expect(branched.userMessage.parentId).toBe(first.assistantMessage.id);
    expect(suite.upstream.requests.at(-1)!.messages.map((message) => message.content)).toEqual(["q1", "a1", "q2 alt"]);
    for (const parentId of [second.userMessage.id, "nosuchmessage000"]) {
      await expect(api.chat.send({ conversationId: conversation.id, content: "x", parentId })).rejects.toMatchObject({
        code: "BAD_REQUEST",
      });
    }
    // A reply of another conversation, even one's own, is not a place to continue from.
    const mine = await api.conversations.create({});
    await expect(api.chat.send({ conversationId: mine.id, content: "x", parentId: first.assistantMessage.id })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    const elsewhere = (await signedIn()).conversation;
    await expect(api.chat.send({ conversationId: elsewhere.id, content: "x", parentId: first.assistantMessage.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("deleting a message", () => {
  async function conversationOfTwoTurns() {
    const { user, api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: "a1" }, { kind: "reply", text: "a2" });
    const first = await api.chat.send({ conversationId: conversation.id, content: "q1" });
    const second = await api.chat.send({ conversationId: conversation.id, content: "q2" });
    return { user, api, conversation, first, second };
  }
  const shown = (page: { messages: { content: string; versionIds: string[] }[] }) =>
    page.messages.map((message) => [message.content, message.versionIds.length]);
  const remaining = (conversationId: string) =>
    suite.services.db
      .select({ content: messages.content })
      .from(messages)
      .where(eq(messages.conversationId, conversationId))
      .all()
      .map((row) => row.content)
      .sort();

  it("a version goes with everything after it; the version before it is shown, and the counts are right", async () => {
    const { api, conversation, second } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "a2 again" }, { kind: "reply", text: "a3" });
    const again = await api.chat.regenerate({ messageId: second.assistantMessage.id });
    await suite.services.generations.get(again.assistantMessage.id)?.done;
    await api.chat.send({ conversationId: conversation.id, content: "q3" });

    const page = await api.conversations.deleteMessage({ messageId: again.assistantMessage.id });
    expect(shown(page)).toEqual([
      ["q1", 1],
      ["a1", 1],
      ["q2", 1],
      ["a2", 1],
    ]);
    expect(page.conversation.currentLeafId).toBe(second.assistantMessage.id);
    expect(remaining(conversation.id)).toEqual(["a1", "a2", "q1", "q2"]);
    // Search no longer finds what was deleted.
    expect((await api.conversations.list({ search: "a2 again" })).items).toEqual([]);
  });

  it("deleting a version that is not shown leaves the branch shown as it is", async () => {
    const { api, conversation, second } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "a2 edited" });
    const edited = await api.chat.edit({ messageId: second.userMessage.id, content: "q2 edited" });
    await suite.services.generations.get(edited.assistantMessage.id)?.done;
    const page = await api.conversations.deleteMessage({ messageId: second.userMessage.id });
    expect(shown(page)).toEqual([
      ["q1", 1],
      ["a1", 1],
      ["q2 edited", 1],
      ["a2 edited", 1],
    ]);
    expect(remaining(conversation.id)).toEqual(["a1", "a2 edited", "q1", "q2 edited"]);
  });

  it("a question's only reply takes the question with it; the first message takes the whole conversation's text", async () => {
    const { user, api, conversation, first, second } = await conversationOfTwoTurns();
    const before = suite.services.quota.charsIn(user.id, conversation.id);
    const page = await api.conversations.deleteMessage({ messageId: second.assistantMessage.id });
    expect(shown(page)).toEqual([
      ["q1", 1],
      ["a1", 1],
    ]);
    expect(suite.services.quota.charsIn(user.id, conversation.id)).toBe(before - "q2a2".length);

    const empty = await api.conversations.deleteMessage({ messageId: first.userMessage.id, limit: 10 });
    expect(empty.messages).toEqual([]);
    expect(empty.conversation.currentLeafId).toBeNull();
    // The conversation goes on from nothing.
    suite.upstream.enqueue({ kind: "reply", text: "fresh" });
    await api.chat.send({ conversationId: conversation.id, content: "anew" });
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([{ role: "user", content: "anew" }]);
  });

  it("a reply being written in what is deleted stops; another person's message is not found", async () => {
    const { api, conversation, first, second } = await conversationOfTwoTurns();
    suite.upstream.enqueue({ kind: "reply", text: "slow ".repeat(50), tokenDelayMs: 20 });
    const running = await api.chat.start({ conversationId: conversation.id, content: "q3" });
    const generation = suite.services.generations.get(running.assistantMessage.id)!;
    await eventually(() => suite.upstream.requests.length === 3);
    await api.conversations.deleteMessage({ messageId: second.userMessage.id });
    expect(await generation.done).toMatchObject({ status: "stopped" });
    expect(storedMessage(running.assistantMessage.id)).toBeUndefined();
    expect(remaining(conversation.id)).toEqual(["a1", "q1"]);

    const intruder = (await signedIn()).api;
    await expect(intruder.conversations.deleteMessage({ messageId: first.userMessage.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(remaining(conversation.id)).toEqual(["a1", "q1"]);
  });
});

describe("stopping a reply", () => {
  it("aborts the upstream request, keeps the text so far as stopped, and ends every stream", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY, tokenDelayMs: 30 });
    const stream = await api.chat.stream({ conversationId: conversation.id, content: "bread?" });
    const firstPart = await collect(stream, (seen) => seen.length === 3);
    const replyId = (firstPart[0]!.data as { assistantMessage: { id: string } }).assistantMessage.id;
    const follower = collect(await api.chat.resume({ messageId: replyId }));

    const stopped = await api.chat.stop({ messageId: replyId });
    expect(stopped.status).toBe("stopped");
    expect(stopped.content.length).toBeGreaterThan(0);
    expect(REPLY.startsWith(stopped.content)).toBe(true);
    expect(stopped.content.length).toBeLessThan(REPLY.length);

    const followed = await follower;
    expect(lastEvent(followed)).toMatchObject({ type: "done", assistantMessage: { status: "stopped", content: stopped.content } });
    expect(textOf(followed)).toBe(stopped.content);
    await eventually(() => suite.upstream.requests[0]!.closedEarly);
    expect(suite.upstream.requests[0]!.tokensSent).toBeLessThan(tokenize(REPLY).length);
    expect(storedMessage(replyId)).toMatchObject({ status: "stopped", content: stopped.content });

    expect(await api.chat.stop({ messageId: replyId })).toEqual(stopped);
  });
});

describe("deleting a conversation while its reply is written", () => {
  it("stops the reply and ends every stream following it", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: "slowly ".repeat(100), tokenDelayMs: 30 });
    const stream = await api.chat.stream({ conversationId: conversation.id, content: "go on" });
    const events = collect(stream);
    await eventually(() => suite.upstream.requests.length === 1);
    await api.conversations.delete({ id: conversation.id });
    const ended = await events;
    expect(lastEvent(ended)).toMatchObject({ type: "done", assistantMessage: { status: "stopped" } });
    await eventually(() => suite.upstream.requests[0]!.closedEarly);
    expect(suite.services.db.select().from(messages).where(eq(messages.conversationId, conversation.id)).all()).toEqual([]);
  });
});

describe("failures are visible and recoverable", () => {
  async function failingReply(setup: () => void, overrides: Record<string, string> = {}) {
    if (Object.keys(overrides).length) {
      await suite.restartWith(overrides);
    }
    const { api, conversation } = await signedIn();
    setup();
    const events = await collect(await api.chat.stream({ conversationId: conversation.id, content: "hello" }));
    const end = lastEvent(events);
    expect(end.type).toBe("error");
    // The conversation stays usable: the next message gets a normal reply.
    const next = await api.chat.send({ conversationId: conversation.id, content: "again" });
    expect(next.assistantMessage.status).toBe("complete");
    return { end: end as Extract<typeof end, { type: "error" }>, text: textOf(events) };
  }

  it("a refused API key", async () => {
    await suite.restartWith({ OPENAI_API_KEY: "sk-wrong" });
    const { api, conversation } = await signedIn();
    const reply = await api.chat.send({ conversationId: conversation.id, content: "hello" });
    expect(reply.assistantMessage).toMatchObject({
      status: "error",
      error: "The model server refused the API key. An admin should check OPENAI_API_KEY.",
    });
  });

  it("an unknown model, a rate limit with its wait, and server errors", async () => {
    const notFound = await failingReply(() => suite.upstream.enqueue({ kind: "status", status: 404, message: "no such model" }));
    expect(notFound.end.message).toBe("The model server does not know the model “fake-small”. Pick another model.");
    const limited = await failingReply(() => suite.upstream.enqueue({ kind: "status", status: 429, headers: { "retry-after": "7" } }));
    expect(limited.end.message).toBe("Rate-limited by the provider, try again in 7 s.");
    expect(limited.end.assistantMessage).toMatchObject({ status: "error", error: "Rate-limited by the provider, try again in 7 s." });
    const broken = await failingReply(() => suite.upstream.enqueue({ kind: "status", status: 502 }));
    expect(broken.end.message).toBe("The model server failed (HTTP 502). Try again in a moment.");
  });

  it("a server that never answers hits the first-token timeout", async () => {
    const { end } = await failingReply(() => suite.upstream.enqueue({ kind: "hang" }), { OPENAI_FIRST_TOKEN_TIMEOUT_MS: "300" });
    expect(end.message).toBe("The model server did not start answering within 0.3 s. Try again, or pick another model.");
    await eventually(() => suite.upstream.requests[0]!.closedEarly);
  });

  it("a server that goes silent mid-reply hits the idle timeout, keeping the partial text", async () => {
    const { end, text } = await failingReply(() => suite.upstream.enqueue({ kind: "stall", afterTokens: 4, text: REPLY }), {
      OPENAI_IDLE_TIMEOUT_MS: "300",
    });
    expect(text).toBe(tokenize(REPLY).slice(0, 4).join(""));
    expect(end.assistantMessage).toMatchObject({ status: "error", content: text });
    expect(end.message).toBe("The model server stopped sending for 0.3 s; the reply was cut short. Try again.");
  });

  it("a connection dropped mid-reply keeps the partial text", async () => {
    const { end, text } = await failingReply(() => suite.upstream.enqueue({ kind: "drop", afterTokens: 3, text: REPLY }));
    expect(text).toBe(tokenize(REPLY).slice(0, 3).join(""));
    expect(end.assistantMessage).toMatchObject({ status: "error", content: text });
    expect(end.message).toMatch(/dropped|failed|reach/);
  });

  it("an unreachable server", async () => {
    await suite.restartWith({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    const { api, conversation } = await signedIn();
    const reply = await api.chat.send({ conversationId: conversation.id, content: "hello" });
    // The server's address is for the log, not for everyone who chats.
    expect(reply.assistantMessage.error).toBe(
      "Could not reach the model server. Try again in a moment; if it keeps failing, tell an admin.",
    );
  });

  it("replies left streaming by a crash are marked interrupted at the next start, and say so on resume", async () => {
    const { api, conversation } = await signedIn();
    const earlier = await api.chat.send({ conversationId: conversation.id, content: "before the crash" });
    const now = Date.now();
    suite.services.db
      .insert(messages)
      .values({
        id: "crashedreply0001",
        conversationId: conversation.id,
        role: "assistant",
        content: "half a rep",
        status: "streaming",
        createdAt: new Date(now + 10),
      })
      .run();
    linkAsOneBranch(suite.services.db, conversation.id);
    expect(markInterruptedReplies(suite.services.db)).toBe(1);
    const events = await collect(await api.chat.resume({ messageId: "crashedreply0001" }));
    expect(textOf(events)).toBe("half a rep");
    expect(lastEvent(events)).toMatchObject({ type: "error", assistantMessage: { status: "interrupted", content: "half a rep" } });
    const stored = (await api.conversations.get({ id: conversation.id })).messages;
    expect(stored.map((message) => message.id)).toEqual([earlier.userMessage.id, earlier.assistantMessage.id, "crashedreply0001"]);
  });

  it("a reply left streaming by a crash does not hold up the conversation before it is marked", async () => {
    const { api, conversation } = await signedIn();
    suite.services.db
      .insert(messages)
      .values({ id: "crashedreply0002", conversationId: conversation.id, role: "assistant", content: "", status: "streaming" })
      .run();
    linkAsOneBranch(suite.services.db, conversation.id);
    const reply = await api.chat.send({ conversationId: conversation.id, content: "still there?" });
    expect(reply.assistantMessage).toMatchObject({ status: "complete", content: expect.any(String) });
  });

  it("a refusal says what to do; the model server's own words go to the log, not to people", async () => {
    const { api, conversation } = await signedIn();
    const refused = async (message: string, times = 1) => {
      for (let i = 0; i < times; i++) suite.upstream.enqueue({ kind: "status", status: 400, message });
      return (await api.chat.send({ conversationId: conversation.id, content: "hello" })).assistantMessage.error;
    };
    // A window the server names is tried once more, fitted to it; refused again, it is too long.
    expect(await refused("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", 2)).toBe(
      "The conversation is too long for this model. Start a new conversation, or send a shorter message.",
    );
    expect(await refused("request (411 tokens) exceeds the available context size (256 tokens), try increasing it", 2)).toBe(
      "The conversation is too long for this model. Start a new conversation, or send a shorter message.",
    );
    expect(await refused("Invalid value for 'logit_bias' at http://10.1.2.3:8000/internal: expected map")).toBe(
      "The model server rejected the request (HTTP 400). Try again; if it keeps failing, an admin can find the reason in the server's log.",
    );
  });

  it("a model server that never stops is cut off at the longest a reply may be, marked so it can be continued", async () => {
    await suite.restartWith({ MAX_REPLY_CHARS: "5000", MAX_REPLY_TOKENS: "1200" });
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "endless", chunk: "more and more " });
    const events = await collect(await api.chat.stream({ conversationId: conversation.id, content: "hello" }));
    const text = textOf(events);
    expect(text.length).toBe(5000);
    expect(lastEvent(events)).toMatchObject({
      type: "done",
      assistantMessage: { status: "complete", finishReason: "length", content: text, usage: { estimated: true } },
    });
    expect(suite.upstream.requests[0]!.maxTokens).toEqual({ name: "max_tokens", value: 1200 });
    await eventually(() => suite.upstream.requests[0]!.closedEarly);
  });

  it("a malformed line from the model server fails that reply, never the server", async () => {
    const chunk = (content: unknown) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
    // A bad line and the end of the response in one packet: the SDK gave up on the body, then
    // its end arrived, and the process died (ERR_INVALID_STATE).
    const broken = await failingReply(() =>
      suite.upstream.enqueue({ kind: "raw", body: `${chunk("ok ")}data: {not json\n\ndata: [DONE]\n\n` }),
    );
    expect(broken.end.message).toBe("The model server sent a malformed reply. Try again; if it keeps happening, tell an admin.");
    expect(broken.end.assistantMessage.content).toBe("ok ");
    // Values of the wrong type are not text.
    const odd = await failingReply(() =>
      suite.upstream.enqueue({ kind: "raw", body: `${chunk({ toString: 1 })}${chunk(42)}data: [DONE]\n\n` }),
    );
    expect(odd.end.message).toBe("The model sent an empty reply. Try again, or pick another model.");
  });

  it("what a model server sends is read only so far: an endless line, a huge error body", async () => {
    const endless = await failingReply(() => suite.upstream.enqueue({ kind: "raw", body: `data: ${"a".repeat(3 * 1024 * 1024)}` }));
    expect(endless.end.message).toBe("The model server sent a malformed reply. Try again; if it keeps happening, tell an admin.");
    const huge = await failingReply(() =>
      suite.upstream.enqueue({
        kind: "raw",
        status: 500,
        contentType: "application/json",
        body: `{"error":{"message":"${"b".repeat(20 * 1024 * 1024)}"}}`,
      }),
    );
    expect(huge.end.message).toBe("The model server failed (HTTP 500). Try again in a moment.");
  });

  it("a web page instead of a reply (a proxy's login page), or a stream with no words, is an error, not an empty reply", async () => {
    const page = await failingReply(() => suite.upstream.enqueue({ kind: "html" }));
    expect(page.end.message).toBe(
      "The model server answered with something that is not a reply. An admin should check its address and any proxy in front of it.",
    );
    const empty = await failingReply(() => suite.upstream.enqueue({ kind: "empty" }));
    expect(empty.end.message).toBe("The model sent an empty reply. Try again, or pick another model.");
    expect(empty.end.assistantMessage).toMatchObject({ status: "error", content: "" });
  });
});

describe("what the model is sent", () => {
  it("the system prompt and the history, oldest first", async () => {
    const { api } = await signedIn();
    const conversation = await api.conversations.create({ systemPrompt: "You are a baker." });
    suite.upstream.enqueue({ kind: "reply", text: "Use a starter." }, { kind: "reply", text: "Bake at 250 °C." });
    await api.chat.send({ conversationId: conversation.id, content: "How do I start?" });
    await api.chat.send({ conversationId: conversation.id, content: "How hot?" });
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([
      { role: "system", content: "You are a baker." },
      { role: "user", content: "How do I start?" },
      { role: "assistant", content: "Use a starter." },
      { role: "user", content: "How hot?" },
    ]);
    expect(suite.upstream.requests.at(-1)!.authorization).toBe("Bearer sk-test-teamgpt");
  });

  it("a history longer than one read of the database comes whole, in order, without failed replies", async () => {
    const { api, conversation } = await signedIn();
    const start = Date.now() - 1_000_000;
    const history = Array.from({ length: 250 }, (_, i) => ({
      id: `history${String(i).padStart(4, "0")}`,
      conversationId: conversation.id,
      role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
      content: `turn ${i}`,
      status: i === 101 ? ("error" as const) : ("complete" as const),
      createdAt: new Date(start + i * 1000),
    }));
    suite.services.db.insert(messages).values(history).run();
    linkAsOneBranch(suite.services.db, conversation.id);
    await api.chat.send({ conversationId: conversation.id, content: "and now?" });
    const expected = history.filter((message) => message.status === "complete").map(({ role, content }) => ({ role, content }));
    expect(suite.upstream.requests.at(-1)!.messages).toEqual([...expected, { role: "user", content: "and now?" }]);
  });

  it("trimmed to the model's context window, oldest turns first, never the system prompt or the newest message", async () => {
    // 1,000 tokens: a quarter is kept for the reply, so the prompt gets 750 (estimated × 1.1).
    await suite.restartWith({ MODEL_CONTEXT_TOKENS: "16384,fake-small=1000" });
    const { api } = await signedIn();
    const conversation = await api.conversations.create({ systemPrompt: "You are terse. ".repeat(90) });
    const words = (word: string, count: number) => `${word} `.repeat(count).trim();
    for (let i = 0; i < 4; i++) {
      suite.upstream.enqueue({ kind: "reply", text: `answer ${i} ${words("fine", 60)}` });
      await api.chat.send({ conversationId: conversation.id, content: `question ${i} ${words("why", 60)}` });
    }
    await api.chat.send({ conversationId: conversation.id, content: `newest ${words("now", 150)}` });
    const request = suite.upstream.requests.at(-1)!;
    expect(request.messages[0]!.role).toBe("system");
    expect(request.messages.at(-1)!.content).toMatch(/^newest/);
    // System ~364, newest ~156, each earlier turn ~67 tokens: two of the eight fit.
    expect(request.messages.map((message) => message.content.split(" ").slice(0, 2).join(" "))).toEqual([
      "You are",
      "question 3",
      "answer 3",
      `newest now`,
    ]);
    // The reply may use what the prompt leaves of the window, at most MAX_REPLY_TOKENS.
    expect(request.maxTokens!.value).toBeGreaterThan(250);
    expect(request.maxTokens!.value).toBeLessThan(1000 - 400);
  });

  it("a message that cannot fit the model's window even alone is refused before anything is stored or sent", async () => {
    await suite.restartWith({ MODEL_CONTEXT_TOKENS: "fake-small=1000,16384" });
    const { api, conversation } = await signedIn();
    await expect(api.chat.send({ conversationId: conversation.id, content: "word ".repeat(2_000) })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(
        /^This message is about 2,2\d\d tokens .* “fake-small” can read about 750 and still answer\. Shorten the message/,
      ),
    });
    expect(suite.upstream.requests).toHaveLength(0);
    expect((await api.conversations.get({ id: conversation.id })).messages).toHaveLength(0);
  });

  it("a window smaller than configured is learned from the server's refusal: the message goes through with less history", async () => {
    const { api, conversation } = await signedIn();
    for (let i = 0; i < 6; i++) {
      suite.upstream.enqueue({ kind: "reply", text: `answer ${i} ${"and so on ".repeat(80)}` });
      await api.chat.send({ conversationId: conversation.id, content: `question ${i} ${"tell me more ".repeat(80)}` });
    }
    const before = suite.upstream.requests.length;
    suite.upstream.enqueue({
      kind: "status",
      status: 400,
      message: "request (2900 tokens) exceeds the available context size (1024 tokens), try increasing it",
    });
    const { assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: "and the last one?" });
    expect(assistantMessage.status).toBe("complete");
    const [refusedRequest, retried] = suite.upstream.requests.slice(before);
    expect(refusedRequest!.messages.length).toBe(13);
    expect(retried!.messages.length).toBeLessThan(7);
    expect(retried!.messages.at(-1)!.content).toBe("and the last one?");
    // Remembered: the next message is fitted to the learned window at once.
    await api.chat.send({ conversationId: conversation.id, content: "thanks" });
    expect(suite.upstream.requests.length).toBe(before + 3);
  });
});

describe("a conversation's reply parameters", () => {
  it("temperature and the longest reply are sent when set, and only then; regenerate and compare use them too", async () => {
    const { api, conversation } = await signedIn();
    await api.chat.send({ conversationId: conversation.id, content: "default" });
    expect(suite.upstream.requests.at(-1)).toMatchObject({ temperature: undefined, maxTokens: { value: 8192 } });

    const updated = await api.conversations.update({ id: conversation.id, temperature: 0.2, maxReplyTokens: 300 });
    expect(updated).toMatchObject({ temperature: 0.2, maxReplyTokens: 300 });
    const { assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: "set" });
    expect(suite.upstream.requests.at(-1)).toMatchObject({ temperature: 0.2, maxTokens: { value: 300 } });
    const again = await api.chat.regenerate({ messageId: assistantMessage.id });
    await suite.services.generations.get(again.assistantMessage.id)?.done;
    expect(suite.upstream.requests.at(-1)).toMatchObject({ temperature: 0.2, maxTokens: { value: 300 } });

    // Back to the defaults: null.
    await api.conversations.update({ id: conversation.id, temperature: null, maxReplyTokens: null });
    await api.chat.send({ conversationId: conversation.id, content: "unset" });
    expect(suite.upstream.requests.at(-1)).toMatchObject({ temperature: undefined, maxTokens: { value: 8192 } });
  });

  it("are checked: temperature 0–2, a length the server allows", async () => {
    const { api, conversation } = await signedIn();
    await expect(api.conversations.update({ id: conversation.id, temperature: 2.5 })).rejects.toThrow("Temperature goes from 0 to 2.");
    await expect(api.conversations.update({ id: conversation.id, maxReplyTokens: 0 })).rejects.toThrow("at least 1 token");
    await expect(api.conversations.update({ id: conversation.id, maxReplyTokens: 100_000 })).rejects.toThrow(
      "A reply may be at most 8192 tokens here.",
    );
    await expect(api.conversations.create({ maxReplyTokens: 100_000 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(await api.conversations.create({ temperature: 1, maxReplyTokens: 50 })).toMatchObject({ temperature: 1, maxReplyTokens: 50 });
  });
});

describe("replies belong to their owner", () => {
  it("another user's reply ids answer NOT_FOUND for resume and stop, and their conversations for stream", async () => {
    const owner = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: REPLY });
    const { assistantMessage } = await owner.api.chat.send({ conversationId: owner.conversation.id, content: "mine" });
    const intruder = (await signedIn()).api;
    const expected = { code: "NOT_FOUND" };
    await expect(collect(await intruder.chat.resume({ messageId: assistantMessage.id }))).rejects.toMatchObject(expected);
    await expect(intruder.chat.stop({ messageId: assistantMessage.id })).rejects.toMatchObject(expected);
    await expect(collect(await intruder.chat.stream({ conversationId: owner.conversation.id, content: "hi" }))).rejects.toMatchObject(
      expected,
    );
    await expect(
      collect(
        await intruder.chat.stream({ conversationId: owner.conversation.id, content: "hi", lastEventId: `${assistantMessage.id}:0` }),
      ),
    ).rejects.toMatchObject(expected);
    await expect(intruder.chat.send({ conversationId: owner.conversation.id, content: "hi" })).rejects.toMatchObject(expected);
    expect(storedMessage(assistantMessage.id).content).toBe(REPLY);
  });
});
