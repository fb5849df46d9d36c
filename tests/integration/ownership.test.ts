import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { appRouter } from "../../server/trpc/root";
import { createTestServices, type TestServices } from "../helpers/db";
import { callerFor, createUser } from "../helpers/factories";
import { startTestUpstream, upstreamEnv } from "../helpers/upstream";

/**
 * Every procedure of the router, called with another person's ids and with no session. A
 * procedure added later without a case here fails the first test: ownership is never assumed.
 */
let upstream: FakeUpstream;
let services: TestServices;
let owner: { conversationId: string; userMessageId: string; replyId: string; runningReplyId: string; runningConversationId: string };

beforeAll(async () => {
  ({ upstream } = await startTestUpstream());
  services = await createTestServices(upstreamEnv(upstream));
  const user = await createUser(services);
  const { api } = await callerFor(services, { userId: user.id });
  const conversation = await api.conversations.create({ title: "Owner's secrets" });
  const { userMessage, assistantMessage } = await api.chat.send({ conversationId: conversation.id, content: "private question" });
  const running = await api.conversations.create({ title: "Owner's running chat" });
  upstream.enqueue({ kind: "reply", text: "slow ".repeat(200), tokenDelayMs: 50 });
  const stream = (await api.chat.stream({ conversationId: running.id, content: "long one" }))[Symbol.asyncIterator]();
  const [, start] = (await stream.next()).value as unknown as [string, { assistantMessage: { id: string } }];
  void stream.return?.();
  owner = {
    conversationId: conversation.id,
    userMessageId: userMessage.id,
    replyId: assistantMessage.id,
    runningReplyId: start.assistantMessage.id,
    runningConversationId: running.id,
  };
});
afterAll(async () => {
  await services.close();
  await upstream.close();
});

type Case =
  /** Acts on ids: another user must get NOT_FOUND (or FORBIDDEN for admin procedures). */
  | { kind: "ids"; input: () => unknown; expected: "NOT_FOUND" | "FORBIDDEN" }
  /** Acts only on the caller's own data: checked separately to reveal nothing of others. */
  | { kind: "own"; input: () => unknown }
  /** Open to anyone (logging in, registering, setting up the first admin with its token, logging out). */
  | { kind: "public" };

const CASES: Record<string, Case> = {
  "auth.register": { kind: "public" },
  "auth.login": { kind: "public" },
  "auth.setup": { kind: "public" },
  "auth.instance": { kind: "public" },
  "auth.resetLink": { kind: "public" },
  "auth.resetPassword": { kind: "public" },
  "auth.logout": { kind: "public" },
  "auth.refresh": { kind: "own", input: () => undefined },
  "auth.me": { kind: "own", input: () => undefined },
  "auth.changePassword": {
    kind: "own",
    input: () => ({ currentPassword: "wrong", newPassword: "whatever123", confirmPassword: "whatever123" }),
  },
  "conversations.list": { kind: "own", input: () => ({ search: "secrets" }) },
  "conversations.create": { kind: "own", input: () => ({}) },
  "conversations.get": { kind: "ids", input: () => ({ id: owner.conversationId }), expected: "NOT_FOUND" },
  "conversations.rename": { kind: "ids", input: () => ({ id: owner.conversationId, title: "mine" }), expected: "NOT_FOUND" },
  "conversations.update": { kind: "ids", input: () => ({ id: owner.conversationId, systemPrompt: "leak" }), expected: "NOT_FOUND" },
  "conversations.delete": { kind: "ids", input: () => ({ id: owner.conversationId }), expected: "NOT_FOUND" },
  "conversations.showBranch": {
    kind: "ids",
    input: () => ({ id: owner.conversationId, messageId: owner.replyId }),
    expected: "NOT_FOUND",
  },
  "conversations.deleteMessage": { kind: "ids", input: () => ({ messageId: owner.userMessageId }), expected: "NOT_FOUND" },
  "chat.send": { kind: "ids", input: () => ({ conversationId: owner.conversationId, content: "hi" }), expected: "NOT_FOUND" },
  "chat.start": { kind: "ids", input: () => ({ conversationId: owner.conversationId, content: "hi" }), expected: "NOT_FOUND" },
  "chat.compare": {
    kind: "ids",
    input: () => ({ conversationId: owner.conversationId, content: "hi", models: ["fake-small", "fake-large"] }),
    expected: "NOT_FOUND",
  },
  "chat.edit": { kind: "ids", input: () => ({ messageId: owner.userMessageId, content: "changed" }), expected: "NOT_FOUND" },
  "chat.stream": {
    kind: "ids",
    input: () => ({ conversationId: owner.runningConversationId, content: "hi", lastEventId: `${owner.runningReplyId}:0` }),
    expected: "NOT_FOUND",
  },
  "chat.resume": { kind: "ids", input: () => ({ messageId: owner.runningReplyId }), expected: "NOT_FOUND" },
  "chat.stop": { kind: "ids", input: () => ({ messageId: owner.runningReplyId }), expected: "NOT_FOUND" },
  "chat.regenerate": { kind: "ids", input: () => ({ messageId: owner.replyId }), expected: "NOT_FOUND" },
  "models.list": { kind: "own", input: () => undefined },
  "admin.keys.list": { kind: "ids", input: () => ({}), expected: "FORBIDDEN" },
  "admin.keys.generate": { kind: "ids", input: () => ({ count: 1 }), expected: "FORBIDDEN" },
  "admin.keys.load": { kind: "ids", input: () => ({ text: "some-key-0001" }), expected: "FORBIDDEN" },
  "admin.keys.revoke": { kind: "ids", input: () => ({ id: "anything" }), expected: "FORBIDDEN" },
  "admin.users.list": { kind: "ids", input: () => undefined, expected: "FORBIDDEN" },
  "admin.users.setDisabled": { kind: "ids", input: () => ({ userId: "anything", disabled: true }), expected: "FORBIDDEN" },
  "admin.users.setRole": { kind: "ids", input: () => ({ userId: "anything", role: "admin" }), expected: "FORBIDDEN" },
  "admin.models.status": { kind: "ids", input: () => undefined, expected: "FORBIDDEN" },
  "admin.connections.list": { kind: "ids", input: () => undefined, expected: "FORBIDDEN" },
  "admin.connections.test": { kind: "ids", input: () => ({ id: "environment" }), expected: "FORBIDDEN" },
  "admin.users.resetLink": { kind: "ids", input: () => ({ userId: "anything" }), expected: "FORBIDDEN" },
};

const procedures = Object.keys(appRouter._def.procedures).sort();

/** Calls a procedure by its path; a subscription is read to its end (errors surface there). */
async function call(api: unknown, path: string, input: unknown): Promise<unknown> {
  const procedure = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], api) as (
    input: unknown,
  ) => Promise<unknown>;
  const result = await procedure(input);
  if (result && typeof result === "object" && Symbol.asyncIterator in result) {
    const items = [];
    for await (const item of result as AsyncIterable<unknown>) items.push(item);
    return items;
  }
  return result;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (error) {
    return error instanceof TRPCError ? error.code : `not a TRPCError: ${String(error)}`;
  }
}

describe("every procedure guards other people's data", () => {
  it("has a case for every procedure of the router", () => {
    expect(procedures).toEqual(Object.keys(CASES).sort());
  });

  it.each(procedures.filter((path) => CASES[path]?.kind === "ids"))("%s refuses another user's ids", async (path) => {
    const intruder = await createUser(services);
    const { api } = await callerFor(services, { userId: intruder.id });
    const spec = CASES[path] as Extract<Case, { kind: "ids" }>;
    expect(await codeOf(call(api, path, spec.input()))).toBe(spec.expected);
  });

  it.each(procedures.filter((path) => CASES[path]?.kind !== "public"))("%s answers UNAUTHORIZED without a session", async (path) => {
    const { api } = await callerFor(services);
    const spec = CASES[path] as Exclude<Case, { kind: "public" }>;
    expect(await codeOf(call(api, path, spec.input()))).toBe("UNAUTHORIZED");
  });

  it("procedures on one's own data show nothing of others'", async () => {
    const intruder = await createUser(services);
    const { api } = await callerFor(services, { userId: intruder.id });
    expect((await api.conversations.list({ search: "secrets" })).items).toEqual([]);
    expect((await api.conversations.list({})).items).toEqual([]);
    expect((await api.auth.me()).id).toBe(intruder.id);
    expect(
      await codeOf(api.auth.changePassword({ currentPassword: "wrong", newPassword: "whatever123", confirmPassword: "whatever123" })),
    ).toBe("BAD_REQUEST");
  });

  it("left the owner's data as it was", async () => {
    const user = await createUser(services, { role: "admin" });
    const { api } = await callerFor(services, { userId: user.id });
    expect((await api.admin.keys.list({})).items).toEqual([]);
    const ownerConversation = services.db.query.conversations.findFirst({ where: (c, { eq }) => eq(c.id, owner.conversationId) });
    expect((await ownerConversation)?.title).toBe("Owner's secrets");
    const reply = await services.db.query.messages.findFirst({ where: (m, { eq }) => eq(m.id, owner.replyId) });
    expect(reply?.status).toBe("complete");
  });
});
