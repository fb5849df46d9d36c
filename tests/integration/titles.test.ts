import { describe, expect, it } from "vitest";
import { cleanTitle } from "../../server/services/title-text";
import { eventually } from "../helpers/chat";
import { callerFor, createUser } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";

/** Titles written by a model after the first reply (issue 17). */
const suite = useModelServerSuite({ MODEL_TITLES: "on" });

async function signedIn() {
  const user = await createUser(suite.services);
  const { api } = await callerFor(suite.services, { userId: user.id });
  const conversation = await api.conversations.create({});
  return { api, conversation };
}

const titleOf = async (api: Awaited<ReturnType<typeof signedIn>>["api"], id: string) =>
  (await api.conversations.get({ id, limit: 1 })).conversation.title;

describe("a conversation's title, by a model", () => {
  it("after the first reply the same model names it, in the background; later replies ask nothing", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue(
      { kind: "reply", text: "Feed the starter, mix, fold, proof overnight." },
      { kind: "reply", text: "**Title:** Baking sourdough bread." },
    );
    const { assistantMessage } = await api.chat.send({
      conversationId: conversation.id,
      content: "how do i bake sourdough bread at home?",
      model: "fake-large",
    });
    // The reply was answered before any title: the first message's line stands meanwhile.
    expect(assistantMessage.status).toBe("complete");
    await suite.services.titles.settled();
    expect(await titleOf(api, conversation.id)).toBe("Baking sourdough bread");
    const titleRequest = suite.upstream.requests[1]!;
    expect(titleRequest.model).toBe("fake-large");
    expect(titleRequest.messages[0]).toMatchObject({ role: "system", content: expect.stringContaining("title") });
    expect(titleRequest.messages[1]!.content).toContain("how do i bake sourdough bread at home?");

    await api.chat.send({ conversationId: conversation.id, content: "and rye?" });
    await suite.services.titles.settled();
    expect(suite.upstream.requests).toHaveLength(3);
  });

  it("a title the person set meanwhile is never overwritten", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue({ kind: "reply", text: "Answer." }, { kind: "reply", text: "Model title", headersDelayMs: 300 });
    await api.chat.send({ conversationId: conversation.id, content: "first question" });
    await eventually(() => suite.upstream.requests.length === 2);
    await api.conversations.rename({ id: conversation.id, title: "Mine" });
    await suite.services.titles.settled();
    expect(await titleOf(api, conversation.id)).toBe("Mine");
  });

  it("a failed or empty title call keeps the first message's line; the reply is untouched", async () => {
    for (const failure of [
      { kind: "status" as const, status: 500 },
      { kind: "reply" as const, text: "  \n " },
    ]) {
      const { api, conversation } = await signedIn();
      suite.upstream.enqueue({ kind: "reply", text: "Answer." }, failure);
      const { assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: "What is a monad?" });
      await suite.services.titles.settled();
      expect(await titleOf(api, conversation.id)).toBe("What is a monad?");
      expect(assistantMessage).toMatchObject({ status: "complete", content: "Answer." });
    }
  });

  it("a reasoning model thinks first; only its answer is the title", async () => {
    const { api, conversation } = await signedIn();
    suite.upstream.enqueue(
      { kind: "reply", text: "Answer." },
      { kind: "reply", reasoning: "The user asks about tides, so…", text: "Why tides happen" },
    );
    await api.chat.send({ conversationId: conversation.id, content: "why are there tides" });
    await suite.services.titles.settled();
    expect(await titleOf(api, conversation.id)).toBe("Why tides happen");
  });

  it("a conversation created with a title, or a first reply that failed, asks for none", async () => {
    const { api } = await signedIn();
    const titled = await api.conversations.create({ title: "Planning" });
    suite.upstream.enqueue({ kind: "reply", text: "Sure." });
    await api.chat.send({ conversationId: titled.id, content: "let us plan" });
    const other = await api.conversations.create({});
    suite.upstream.enqueue({ kind: "status", status: 502 });
    await api.chat.send({ conversationId: other.id, content: "hello?" });
    await suite.services.titles.settled();
    expect(suite.upstream.requests).toHaveLength(2);
    expect(await titleOf(api, titled.id)).toBe("Planning");
    expect(await titleOf(api, other.id)).toBe("hello?");
  });
});

describe("a model's answer made a title", () => {
  it("its first line, without markdown, quotes, 'Title:' or a full stop, shortened", () => {
    expect(cleanTitle("\n\n# “Sourdough at home”.\nMore text")).toBe("Sourdough at home");
    expect(cleanTitle("Title: Rust lifetimes explained!")).toBe("Rust lifetimes explained");
    expect(cleanTitle("**Planning a trip to Kyoto**")).toBe("Planning a trip to Kyoto");
    expect(cleanTitle("   ")).toBeNull();
    expect(cleanTitle("\u202Eevil\u202C name")).toBe("evil name");
    expect(cleanTitle("word ".repeat(30))!.length).toBeLessThanOrEqual(60);
  });
});
