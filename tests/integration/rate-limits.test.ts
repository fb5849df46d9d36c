import { describe, expect, it } from "vitest";
import type { TRPCError } from "@trpc/server";
import { callerFor, createKey, createUser, TEST_PASSWORD, uniqueUsername } from "../helpers/factories";
import { useModelServerSuite } from "../helpers/suites";

/** How a settled call failed (createCaller throws TRPCError), or null if it did not. */
function failure(result: PromiseSettledResult<unknown>): TRPCError | null {
  return result.status === "rejected" ? (result.reason as TRPCError) : null;
}

const suite = useModelServerSuite({ RATE_LIMITS: "on" });

const anonymous = (ip = "203.0.113.7") => callerFor(suite.services, { ip }).then((caller) => caller.api);

describe("abuse limits", () => {
  it("ten failed logins lock the username for a while, from any address, with when to retry", async () => {
    const user = await createUser(suite.services);
    for (let i = 0; i < 10; i++) {
      const api = await anonymous(`198.51.100.${i}`);
      await expect(api.auth.login({ username: user.username, password: "guess " + i })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    }
    const api = await anonymous("198.51.100.200");
    const locked = api.auth.login({ username: user.username, password: TEST_PASSWORD });
    await expect(locked).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/^Too many failed logins for this account\. Try again in \d+ s\.$/),
    });
    const error = (await locked.catch((e: unknown) => e)) as { cause: { retryAfterSeconds: number } };
    expect(error.cause.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("a whole team can log in from one office address", async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => createUser(suite.services)));
    const api = await anonymous("198.51.100.77");
    for (let round = 0; round < 6; round++) {
      for (const user of users) await expect(api.auth.login({ username: user.username, password: TEST_PASSWORD })).resolves.toBeTruthy();
    }
  });

  it("a successful login clears the failures", async () => {
    const user = await createUser(suite.services);
    const api = await anonymous();
    for (let i = 0; i < 9; i++) await expect(api.auth.login({ username: user.username, password: "nope " + i })).rejects.toBeTruthy();
    await api.auth.login({ username: user.username, password: TEST_PASSWORD });
    for (let i = 0; i < 9; i++)
      await expect(api.auth.login({ username: user.username, password: "nope " + i })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("one address may fail only so many logins and registrations", async () => {
    const api = await anonymous("192.0.2.1");
    for (let i = 0; i < 50; i++)
      await expect(api.auth.login({ username: `nobody${i}`, password: "whatever1" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(api.auth.login({ username: "nobody", password: "whatever1" })).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/^Too many failed logins from your network\. Try again in \d+ s\.$/),
    });

    const key = createKey(suite.services);
    const register = (registrationKey: string) =>
      api.auth.register({ username: uniqueUsername(), password: TEST_PASSWORD, confirmPassword: TEST_PASSWORD, registrationKey });
    for (let i = 0; i < 10; i++) await expect(register(`tgk_guess${i}xxxxxxxxxxxxxxxxxxx`)).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(register(key)).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    const elsewhere = await anonymous("192.0.2.99");
    await expect(
      elsewhere.auth.register({
        username: uniqueUsername(),
        password: TEST_PASSWORD,
        confirmPassword: TEST_PASSWORD,
        registrationKey: key,
      }),
    ).resolves.toBeTruthy();
  });

  it("attempts racing each other cannot outrun the limits: forty parallel logins get at most ten password checks", async () => {
    const user = await createUser(suite.services);
    const api = await anonymous("198.51.100.40");
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => api.auth.login({ username: user.username, password: i === 30 ? TEST_PASSWORD : `guess ${i}` })),
    );
    const codes = results.map((result) => failure(result)?.code ?? "OK");
    // Ten may be counted; no more than two run at once for one account (the rest are told to come back).
    expect(codes.filter((code) => code === "UNAUTHORIZED" || code === "OK").length).toBeLessThanOrEqual(10);
    expect(codes.filter((code) => code === "TOO_MANY_REQUESTS").length).toBeGreaterThanOrEqual(30);
    expect(codes[30]).toBe("TOO_MANY_REQUESTS"); // the right password, after the budget was spent
  });

  it("refused attempts are not failures: a burst of right passwords from one office does not lock it out", async () => {
    const team = await Promise.all(Array.from({ length: 10 }, () => createUser(suite.services)));
    const api = await anonymous("198.51.100.60");
    const burst = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => api.auth.login({ username: team[i % 10]!.username, password: TEST_PASSWORD })),
    );
    expect(burst.filter((result) => result.status === "rejected").every((result) => failure(result)?.code === "TOO_MANY_REQUESTS")).toBe(
      true,
    );
    const latecomer = await createUser(suite.services);
    await expect(api.auth.login({ username: latecomer.username, password: TEST_PASSWORD })).resolves.toBeTruthy();
    // A wrong password now is the first failure, not the 51st.
    for (let i = 0; i < 49; i++)
      await expect(api.auth.login({ username: `nobody${i}`, password: "x" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("one network may have only so many password checks waiting at once", async () => {
    const users = await Promise.all(Array.from({ length: 30 }, () => createUser(suite.services)));
    const api = await anonymous("198.51.100.61");
    const results = await Promise.allSettled(users.map((user) => api.auth.login({ username: user.username, password: "wrong password" })));
    const busy = results.filter((result) => failure(result)?.message.startsWith("Too many logins at once"));
    expect(busy.length).toBe(20);
    expect(results.filter((result) => failure(result)?.code === "UNAUTHORIZED").length).toBe(10);
    // The twenty were never checked: they are not failures either.
    for (let i = 0; i < 40; i++)
      await expect(api.auth.login({ username: `nobody${i}`, password: "x" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("one account may have only two password checks at once, however many networks they come from", async () => {
    const user = await createUser(suite.services);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, async (_, i) =>
        (await anonymous(`198.51.${100 + (i % 12)}.9`)).auth.login({ username: user.username, password: TEST_PASSWORD }),
      ),
    );
    const busy = results.filter((result) => failure(result)?.message.startsWith("This account is already being logged in to"));
    expect(results.filter((result) => result.status === "fulfilled").length).toBeLessThanOrEqual(4);
    expect(busy.length).toBeGreaterThan(0);
    expect(results.every((result) => result.status === "fulfilled" || failure(result)?.code === "TOO_MANY_REQUESTS")).toBe(true);

    const { api } = await callerFor(suite.services, { userId: user.id });
    const changes = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        api.auth.changePassword({ currentPassword: "not it", newPassword: "a new secret", confirmPassword: "a new secret" }),
      ),
    );
    expect(changes.filter((result) => failure(result)?.code === "BAD_REQUEST").length).toBeLessThanOrEqual(2);
  });

  it("parallel registrations with guessed keys get only as many tries as the budget", async () => {
    const api = await anonymous("198.51.100.41");
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        api.auth.register({
          username: uniqueUsername(),
          password: TEST_PASSWORD,
          confirmPassword: TEST_PASSWORD,
          registrationKey: `tgk_guess${i}xxxxxxxxxxxxxxxxxxx`,
        }),
      ),
    );
    const codes = results.map((result) => failure(result)?.code);
    expect(codes.filter((code) => code === "BAD_REQUEST").length).toBe(10);
    expect(codes.filter((code) => code === "TOO_MANY_REQUESTS").length).toBe(20);
  });

  it("a wrong current password counts as a failed login: a stolen session cannot guess the password", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const change = (currentPassword: string) =>
      api.auth.changePassword({ currentPassword, newPassword: "a brand new secret", confirmPassword: "a brand new secret" });
    for (let i = 0; i < 10; i++) await expect(change(`guess ${i}`)).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(change(TEST_PASSWORD)).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    const login = (await anonymous("198.51.100.42")).auth.login({ username: user.username, password: TEST_PASSWORD });
    await expect(login).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
  });

  it("a person may have only three replies running at once", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const running = [];
    for (let i = 0; i < 3; i++) {
      const conversation = await api.conversations.create({});
      suite.upstream.enqueue({ kind: "reply", text: "slow reply ".repeat(20), tokenDelayMs: 50 });
      const stream = await api.chat.stream({ conversationId: conversation.id, content: `chat ${i}` });
      const iterator = stream[Symbol.asyncIterator]();
      const [, start] = (await iterator.next()).value as unknown as [string, { assistantMessage: { id: string } }];
      running.push({ iterator, id: start.assistantMessage.id });
    }
    const fourth = await api.conversations.create({});
    await expect(api.chat.send({ conversationId: fourth.id, content: "one more" })).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: "You already have 3 replies being written. Wait for one to finish, or stop one.",
    });
    await api.chat.stop({ messageId: running[0]!.id });
    suite.upstream.enqueue({ kind: "reply", text: "ok" });
    await expect(api.chat.send({ conversationId: fourth.id, content: "one more" })).resolves.toMatchObject({
      assistantMessage: { status: "complete" },
    });
    for (const { id, iterator } of running) {
      await api.chat.stop({ messageId: id });
      await iterator.return?.();
    }
  });

  it("the budgets are configurable", async () => {
    await suite.restartWith({ RATE_LIMITS: "on", MESSAGES_PER_MINUTE: "2", MAX_RUNNING_REPLIES: "1" });
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const conversation = await api.conversations.create({});
    await api.chat.send({ conversationId: conversation.id, content: "one" });
    await api.chat.send({ conversationId: conversation.id, content: "two" });
    await expect(api.chat.send({ conversationId: conversation.id, content: "three" })).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
  });

  it("a person may send only so many messages a minute", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const conversation = await api.conversations.create({});
    for (let i = 0; i < 30; i++) await api.chat.send({ conversationId: conversation.id, content: `m${i}` });
    await expect(api.chat.send({ conversationId: conversation.id, content: "too many" })).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/^You are sending messages too fast\. Try again in \d+ s\.$/),
    });
  });

  it("a person may start only so many conversations a minute", async () => {
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    for (let i = 0; i < 30; i++) await api.conversations.create({});
    await expect(api.conversations.create({})).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/^You are starting conversations too fast\. Try again in \d+ s\.$/),
    });
  });
});

describe("what one person may keep", () => {
  it("so many conversations; deleting one makes room", async () => {
    await suite.restartWith({ CONVERSATIONS_PER_USER: "3" });
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const kept = [await api.conversations.create({}), await api.conversations.create({}), await api.conversations.create({})];
    await expect(api.conversations.create({})).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: "You have 3 conversations, the most one person may keep here. Delete some to start new ones.",
    });
    await api.conversations.delete({ id: kept[0]!.id });
    await expect(api.conversations.create({})).resolves.toMatchObject({ title: "New chat" });
  });

  it("so much text, counted across messages, replies and system prompts; deleting makes room", async () => {
    await suite.restartWith({ STORAGE_PER_USER_MB: "1", MODEL_CONTEXT_TOKENS: "1000000" });
    const user = await createUser(suite.services);
    const { api } = await callerFor(suite.services, { userId: user.id });
    const big = await api.conversations.create({ systemPrompt: "s".repeat(20_000) });
    for (let i = 0; i < 9; i++) {
      suite.upstream.enqueue({ kind: "reply", text: "ok" });
      await api.chat.send({ conversationId: big.id, content: "m".repeat(100_000) });
    }
    const refused = api.chat.send({ conversationId: big.id, content: "m".repeat(100_000) });
    await expect(refused).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(
        /^Your conversations hold 0\.9 MB of text, the most one person may keep here is 1 MB\. Delete some conversations to make room\.$/,
      ),
    });
    await expect(api.conversations.create({ systemPrompt: "s".repeat(20_000) })).resolves.toBeTruthy();
    await api.conversations.delete({ id: big.id });
    suite.upstream.enqueue({ kind: "reply", text: "ok" });
    const fresh = await api.conversations.create({});
    await expect(api.chat.send({ conversationId: fresh.id, content: "m".repeat(100_000) })).resolves.toBeTruthy();
  });
});
