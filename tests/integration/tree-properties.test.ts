import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { messages } from "../../server/db/schema";
import { eventually } from "../helpers/chat";
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

const STEPS = [
  "send",
  "send failing",
  "edit",
  "regenerate",
  "stop",
  "show another version",
  "delete",
  "switch while a reply streams",
  "compare",
] as const;

type StoredRow = typeof messages.$inferSelect;
/** The kinds of step the seeds took, checked at the end: a step never taken proves nothing. */
const taken = new Set<string>();

/** What deleting `target` must remove: it and all below it, and its question when it is that question's only reply. */
function expectedDeletion(stored: StoredRow[], target: StoredRow): Set<string> {
  const siblings = stored.filter((row) => row.parentId === target.parentId);
  const top =
    target.role === "assistant" && target.parentId !== null && siblings.length === 1
      ? stored.find((row) => row.id === target.parentId)!
      : target;
  const gone = new Set([top.id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const row of stored) {
      if (row.parentId !== null && gone.has(row.parentId) && !gone.has(row.id)) {
        gone.add(row.id);
        grew = true;
      }
    }
  }
  return gone;
}

describe("a conversation's tree, after any sequence of sends, edits, regenerations, stops, failures, deletes, comparisons and branch switches (also mid-stream)", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: nothing is lost, versions count right, the page is a real path, and the model saw exactly it`, async () => {
      const services = suite.services;
      const user = await createUser(services);
      const { api } = await callerFor(services, { userId: user.id });
      const conversation = await api.conversations.create({});
      const rng = random(seed);
      const expectedIds = new Set<string>();
      const made = (...ids: string[]) => ids.forEach((id) => expectedIds.add(id));

      const page = async () => (await api.conversations.get({ id: conversation.id })).messages;
      const settle = async (messageId: string) => {
        await services.generations.get(messageId)?.done;
      };

      for (let step = 0; step < 40; step++) {
        const shown = await page();
        const userMessages = shown.filter((message) => message.role === "user");
        const lastReply = shown.at(-1);
        let kind: (typeof STEPS)[number] = rng.pick(STEPS);
        if (shown.length === 0 && kind !== "compare") kind = "send";
        taken.add(kind);
        const text = `${kind} ${step}`;

        if (kind === "send" || kind === "send failing") {
          suite.upstream.enqueue(kind === "send" ? { kind: "reply", text: `answer ${step}` } : { kind: "status", status: 500 });
          const pair = await api.chat.send({ conversationId: conversation.id, content: text });
          made(pair.userMessage.id, pair.assistantMessage.id);
          expect(suite.upstream.requests.at(-1)!.messages.at(-1)).toEqual({ role: "user", content: text });
          await settle(pair.assistantMessage.id);
        } else if (kind === "edit") {
          const target = rng.pick(userMessages);
          suite.upstream.enqueue({ kind: "reply", text: `edited answer ${step}` });
          const pair = await api.chat.edit({ messageId: target.id, content: text });
          made(pair.userMessage.id, pair.assistantMessage.id);
          await settle(pair.assistantMessage.id);
        } else if (kind === "regenerate" && lastReply?.role === "assistant") {
          // Any reply of the branch shown, not only the latest.
          const reply = rng.pick(shown.filter((message) => message.role === "assistant"));
          suite.upstream.enqueue({ kind: "reply", text: `regenerated ${step}` });
          const { assistantMessage } = await api.chat.regenerate({ messageId: reply.id });
          made(assistantMessage.id);
          await settle(assistantMessage.id);
        } else if (kind === "stop") {
          suite.upstream.enqueue({ kind: "reply", text: "slow ".repeat(50), tokenDelayMs: 5 });
          const asked = suite.upstream.requests.length;
          const pair = await api.chat.start({ conversationId: conversation.id, content: text });
          made(pair.userMessage.id, pair.assistantMessage.id);
          // Stopped once the model server has it: stopped before, its queued reply would answer a later question.
          await eventually(() => suite.upstream.requests.length > asked);
          await api.chat.stop({ messageId: pair.assistantMessage.id });
          await settle(pair.assistantMessage.id);
        } else if (kind === "show another version") {
          const withVersions = shown.filter((message) => message.versionIds.length > 1);
          if (withVersions.length > 0) {
            const message = rng.pick(withVersions);
            const other = rng.pick(message.versionIds.filter((id) => id !== message.id));
            await api.conversations.showBranch({ id: conversation.id, messageId: other });
          }
        } else if (kind === "delete") {
          const rows = services.db.select().from(messages).where(eq(messages.conversationId, conversation.id)).all();
          const target = rng.pick(rows);
          const gone = expectedDeletion(rows, target);
          await api.conversations.deleteMessage({ messageId: target.id });
          gone.forEach((id) => expectedIds.delete(id));
        } else if (kind === "switch while a reply streams") {
          // A reply streams on; meanwhile the person shows another version or starts another
          // branch. The reply finishes whole on its own branch.
          const slow = "slow ".repeat(40);
          suite.upstream.enqueue({ kind: "reply", text: slow, tokenDelayMs: 3 });
          const running = await api.chat.start({ conversationId: conversation.id, content: text });
          made(running.userMessage.id, running.assistantMessage.id);
          const target = userMessages.length > 0 ? rng.pick(userMessages) : null;
          if (target && rng.next() < 0.5) {
            suite.upstream.enqueue({ kind: "reply", text: `meanwhile ${step}` });
            const other = await api.chat.edit({ messageId: target.id, content: `${text} meanwhile` });
            made(other.userMessage.id, other.assistantMessage.id);
            await settle(other.assistantMessage.id);
          } else if (target) {
            await api.conversations.showBranch({ id: conversation.id, messageId: target.id });
          }
          await settle(running.assistantMessage.id);
          expect(services.db.select().from(messages).where(eq(messages.id, running.assistantMessage.id)).get()).toMatchObject({
            status: "complete",
            content: slow,
          });
        } else if (kind === "compare") {
          suite.upstream.enqueueFor("fake-small", { kind: "reply", text: `small ${step}` });
          suite.upstream.enqueueFor("fake-large", { kind: "reply", text: `large ${step}` });
          const compared = await api.chat.compare({ conversationId: conversation.id, content: text, models: ["fake-small", "fake-large"] });
          made(compared.userMessage.id, ...compared.assistantMessages.map((reply) => reply.id));
          await Promise.all(compared.assistantMessages.map((reply) => settle(reply.id)));
          if (rng.next() < 0.5) await api.conversations.showBranch({ id: conversation.id, messageId: compared.assistantMessages[1]!.id });
        }

        // Nothing lost: every message made and not deleted is stored, and nothing else.
        const stored = services.db.select().from(messages).where(eq(messages.conversationId, conversation.id)).all();
        expect(new Set(stored.map((row) => row.id))).toEqual(expectedIds);
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

  it("together the seeds took every kind of step", () => {
    expect([...taken].sort()).toEqual([...STEPS].sort());
  });
});
