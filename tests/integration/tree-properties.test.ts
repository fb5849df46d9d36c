import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { messages } from "../../server/db/schema";
import { callerFor, createUser } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";

const suite = useModelServerSuite();

/** A small deterministic generator (mulberry32): the same seed, the same sequence of steps. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]! };
}

const STEPS = ["send", "send failing", "edit", "regenerate", "stop", "show another version"] as const;

describe("a conversation's tree, after any sequence of sends, edits, regenerations, stops, failures and branch switches", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: nothing is lost, versions count right, the page is a real path, and the model saw exactly it`, async () => {
      const services = suite.services;
      const user = await createUser(services);
      const { api } = await callerFor(services, { userId: user.id });
      const conversation = await api.conversations.create({});
      const rng = random(seed);
      let created = 0;

      const page = async () => (await api.conversations.get({ id: conversation.id })).messages;
      const settle = async (messageId: string) => {
        await services.generations.get(messageId)?.done;
      };

      for (let step = 0; step < 30; step++) {
        const shown = await page();
        const userMessages = shown.filter((message) => message.role === "user");
        const lastReply = shown.at(-1);
        let kind = rng.pick(STEPS);
        if (shown.length === 0) kind = "send";
        const text = `${kind} ${step}`;

        if (kind === "send" || kind === "send failing") {
          suite.upstream.enqueue(kind === "send" ? { kind: "reply", text: `answer ${step}` } : { kind: "status", status: 500 });
          const pair = await api.chat.send({ conversationId: conversation.id, content: text });
          created += 2;
          expect(suite.upstream.requests.at(-1)!.messages.at(-1)).toEqual({ role: "user", content: text });
          await settle(pair.assistantMessage.id);
        } else if (kind === "edit") {
          const target = rng.pick(userMessages);
          suite.upstream.enqueue({ kind: "reply", text: `edited answer ${step}` });
          const pair = await api.chat.edit({ messageId: target.id, content: text });
          created += 2;
          await settle(pair.assistantMessage.id);
        } else if (kind === "regenerate" && lastReply?.role === "assistant") {
          suite.upstream.enqueue({ kind: "reply", text: `regenerated ${step}` });
          const { assistantMessage } = await api.chat.regenerate({ messageId: lastReply.id });
          created += 1;
          await settle(assistantMessage.id);
        } else if (kind === "stop") {
          suite.upstream.enqueue({ kind: "reply", text: "slow ".repeat(50), tokenDelayMs: 5 });
          const pair = await api.chat.start({ conversationId: conversation.id, content: text });
          created += 2;
          await api.chat.stop({ messageId: pair.assistantMessage.id });
          await settle(pair.assistantMessage.id);
        } else if (kind === "show another version") {
          const withVersions = shown.filter((message) => message.versionIds.length > 1);
          if (withVersions.length > 0) {
            const message = rng.pick(withVersions);
            const other = rng.pick(message.versionIds.filter((id) => id !== message.id));
            await api.conversations.showBranch({ id: conversation.id, messageId: other });
          }
        }

        // Nothing lost: every message ever made is stored.
        const stored = services.db.select().from(messages).where(eq(messages.conversationId, conversation.id)).all();
        expect(stored).toHaveLength(created);
        const byId = new Map(stored.map((row) => [row.id, row]));

        // The page is a real path from a first message to the conversation's leaf.
        const after = await api.conversations.get({ id: conversation.id });
        const path = after.messages;
        expect(path[0]?.parentId ?? null).toBeNull();
        path.forEach((message, i) => {
          if (i > 0) expect(message.parentId).toBe(path[i - 1]!.id);
        });
        expect(path.at(-1)?.id ?? null).toBe(after.conversation.currentLeafId);

        // Versions: exactly the stored siblings, oldest first, each message among its own.
        for (const message of path) {
          const siblings = stored
            .filter((row) => row.parentId === message.parentId)
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
            .map((row) => row.id);
          expect(new Set(message.versionIds)).toEqual(new Set(siblings));
          expect(message.versionIds).toContain(message.id);
        }

        // Every question the model was sent was the path to it, and nothing from other branches.
        const lastRequest = suite.upstream.requests.at(-1);
        if (lastRequest) {
          const question = [...byId.values()].find((row) => row.role === "user" && row.content === lastRequest.messages.at(-1)!.content);
          if (question) {
            const expected: string[] = [];
            for (let row = byId.get(question.parentId ?? ""); row; row = byId.get(row.parentId ?? "")) {
              if (row.content !== "" && (row.role === "user" || row.status === "complete" || row.status === "stopped")) {
                expected.unshift(row.content);
              }
            }
            expect(lastRequest.messages.slice(0, -1).map((message) => message.content)).toEqual(expected);
          }
        }
      }
    }, 60_000);
  }
});
