import { describe, expect, it } from "vitest";
import { collect, lastEvent, textOf } from "../helpers/chat";
import { callerFor, createUser } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";

/** `chat.compare`: one message to two or three models, each reply a version of the reply (issue 16). */
const suite = useModelServerSuite();

async function signedIn() {
  const user = await createUser(suite.services);
  const { api } = await callerFor(suite.services, { userId: user.id });
  const conversation = await api.conversations.create({});
  return { user, api, conversation };
}

async function finished(messageId: string) {
  return await suite.services.generations.get(messageId)?.done;
}

describe("comparing models", () => {
  it("streams a reply from each model side by side; each is a version, the first shown, and the one kept is what the conversation goes on from", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueueFor("fake-small", { kind: "reply", text: "small says hello", tokenDelayMs: 5 });
    suite.upstream.enqueueFor("fake-large", { kind: "reply", text: "large says hello", tokenDelayMs: 5 });
    const { userMessage, assistantMessages } = await api.chat.compare({
      conversationId: conversation.id,
      content: "hello?",
      models: ["fake-large", "fake-small"],
    });
    expect(assistantMessages.map((reply) => [reply.model, reply.status, reply.parentId])).toEqual([
      ["fake-large", "streaming", userMessage.id],
      ["fake-small", "streaming", userMessage.id],
    ]);

    // Both stream at once, each followed on its own.
    const [large, small] = await Promise.all(assistantMessages.map(async (reply) => collect(await api.chat.resume({ messageId: reply.id }))));
    expect(textOf(large!)).toBe("large says hello");
    expect(textOf(small!)).toBe("small says hello");
    expect(lastEvent(small!)).toMatchObject({ type: "done", assistantMessage: { status: "complete", model: "fake-small" } });
    // Each model was sent the same question, alone.
    expect(suite.upstream.requests.map((request) => [request.model, request.messages])).toEqual(
      expect.arrayContaining([
        ["fake-large", [{ role: "user", content: "hello?" }]],
        ["fake-small", [{ role: "user", content: "hello?" }]],
      ]),
    );

    const page = await api.conversations.get({ id: conversation.id });
    expect(page.messages.map((message) => message.content)).toEqual(["hello?", "large says hello"]);
    expect(page.messages[1]!.versionIds).toEqual(assistantMessages.map((reply) => reply.id));
    // A comparison chooses no model for the conversation.
    expect(page.conversation.model).toBe(conversation.model);

    // Keeping the second: the conversation shows it, and the next message follows it.
    const kept = await api.conversations.showBranch({ id: conversation.id, messageId: assistantMessages[1]!.id });
    expect(kept.messages.map((message) => message.content)).toEqual(["hello?", "small says hello"]);
    await api.chat.send({ conversationId: conversation.id, content: "and then?" });
    expect(suite.upstream.requests.at(-1)!.messages.map((message) => message.content)).toEqual(["hello?", "small says hello", "and then?"]);
  });

  it("one model failing leaves the others to finish; each reply is its own version", async () => {
    await suite.restartWith({ OPENAI_MODELS: "fake-small,fake-large,fake-retired" });
    const { api, conversation } = await signedIn();
    const { assistantMessages } = await api.chat.compare({
      conversationId: conversation.id,
      content: "three ways",
      models: ["fake-small", "fake-retired", "fake-large"],
    });
    const [small, retired, large] = await Promise.all(assistantMessages.map((reply) => finished(reply.id)));
    expect(small).toMatchObject({ status: "complete" });
    expect(retired).toMatchObject({ status: "error", model: "fake-retired" });
    expect(retired!.error).toMatch(/model/i);
    expect(large).toMatchObject({ status: "complete" });
    const page = await api.conversations.get({ id: conversation.id });
    expect(page.messages[1]!.versionIds).toHaveLength(3);
  });

  it("asks for two or three different models people may use", async () => {
    const { api, conversation } = await signedIn();
    const compare = (models: string[]) => api.chat.compare({ conversationId: conversation.id, content: "x", models });
    await expect(compare(["fake-small"])).rejects.toThrow("Pick at least two models to compare.");
    await expect(compare(["fake-small", "fake-small"])).rejects.toThrow("Pick different models to compare.");
    await expect(compare(["fake-small", "fake-large", "fake-small", "fake-large"])).rejects.toThrow("Compare at most 3 models at once.");
    await expect(compare(["fake-small", "gpt-nope"])).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("fake-large") });
    // Nothing was stored or sent.
    expect((await api.conversations.get({ id: conversation.id })).messages).toEqual([]);
    expect(suite.upstream.requests).toEqual([]);
  });

  it("the same clientMessageId twice answers the first comparison and starts nothing more", async () => {
    const { api, conversation } = await signedIn();
    const input = { conversationId: conversation.id, content: "once", models: ["fake-small", "fake-large"], clientMessageId: "c-1" };
    const first = await api.chat.compare(input);
    await Promise.all(first.assistantMessages.map((reply) => finished(reply.id)));
    const again = await api.chat.compare(input);
    expect(again.userMessage.id).toBe(first.userMessage.id);
    expect(again.assistantMessages.map((reply) => reply.id)).toEqual(first.assistantMessages.map((reply) => reply.id));
    expect(suite.upstream.requests).toHaveLength(2);
  });

  it("a comparison is followed only when its shown reply has ended; another branch may start meanwhile", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueueFor("fake-small", { kind: "reply", text: "slow ".repeat(30), tokenDelayMs: 15 });
    const { userMessage, assistantMessages } = await api.chat.compare({
      conversationId: conversation.id,
      content: "q",
      models: ["fake-small", "fake-large"],
    });
    await expect(api.chat.send({ conversationId: conversation.id, content: "next" })).rejects.toMatchObject({ code: "CONFLICT" });
    await finished(assistantMessages[1]!.id);
    // The other reply has ended: a message may follow it while the first still streams.
    await api.chat.send({ conversationId: conversation.id, content: "after large", parentId: assistantMessages[1]!.id });
    const edited = await api.chat.edit({ messageId: userMessage.id, content: "q, again" });
    await Promise.all([finished(assistantMessages[0]!.id), finished(edited.assistantMessage.id)]);
  });
});

describe("a comparison counts against the person's limits like as many replies", () => {
  it("each reply spends a message of the minute's budget, and takes a place among the replies running at once", async () => {
    await suite.restartWith({ RATE_LIMITS: "on", MESSAGES_PER_MINUTE: "3", MAX_RUNNING_REPLIES: "2" });
    const { api, conversation } = await signedIn();
    await expect(
      api.chat.compare({ conversationId: conversation.id, content: "x", models: ["fake-small", "fake-large", "fake-small-2"] }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    suite.upstream.enqueueFor("fake-small", { kind: "reply", text: "slow ".repeat(30), tokenDelayMs: 15 });
    const running = await api.chat.start({ conversationId: conversation.id, content: "one" });
    // One running, two places: a comparison of two does not fit.
    const refused = api.chat.compare({ conversationId: conversation.id, content: "two", models: ["fake-small", "fake-large"], parentId: null });
    await expect(refused).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS", message: expect.stringContaining("being written") });
    await finished(running.assistantMessage.id);
    // Three messages a minute: one sent, two spent by the refused comparison.
    const spent = api.chat.compare({ conversationId: conversation.id, content: "three", models: ["fake-small", "fake-large"] });
    await expect(spent).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS", message: expect.stringContaining("too fast") });
  });

  it("more models than may ever run at once is refused with what to do, costing no message", async () => {
    await suite.restartWith({ RATE_LIMITS: "on", MAX_RUNNING_REPLIES: "2", OPENAI_MODELS: "fake-small,fake-large,fake-third" });
    const { api, conversation } = await signedIn();
    await expect(
      api.chat.compare({ conversationId: conversation.id, content: "x", models: ["fake-small", "fake-large", "fake-third"] }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("compare fewer models") });
  });
});
