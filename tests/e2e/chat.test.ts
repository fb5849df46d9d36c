import { eq } from "drizzle-orm";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { conversations, messages } from "../../server/db/schema";
import { tokenize } from "../../server/llm/fake-upstream";
import { hasChromium, screenshot } from "../helpers/browser";
import { eventually } from "../helpers/chat";
import { useBrowserSuite } from "../helpers/e2e";
import { createConversation, createUser } from "../helpers/factories";

const LONG_REPLY = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} of a long answer.`).join(" ");

describe.skipIf(!hasChromium)("in a real browser: chatting", () => {
  const suite = useBrowserSuite();

  async function signedInPage(name: string, viewport?: { width: number; height: number }) {
    const user = await createUser(suite.server.services);
    const page = await suite.newPage(name, viewport);
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await suite.logIn(page, user.username);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    return { page, user, dialogs };
  }

  async function send(page: Page, text: string) {
    await page.getByLabel("Message").fill(text);
    await page.getByLabel("Message").press("Enter");
  }

  const assistantText = (page: Page) => page.locator(".message-assistant .message-body").last().innerText();

  it("a reply streams in, survives a reload, and can be stopped", async () => {
    const { page } = await signedInPage("stream");
    suite.upstream.enqueue({ kind: "reply", text: LONG_REPLY, tokenDelayMs: 20 });
    await send(page, "Tell me a long story");
    await page.waitForURL(/\/c\/[0-9a-z]+$/);
    await page.getByRole("button", { name: "Stop" }).waitFor();
    // The sidebar lists the new conversation, titled after the message, while the reply streams.
    await page.locator(".sidebar").getByText("Tell me a long story").waitFor({ timeout: 3_000 });
    expect(await page.locator("[data-status=streaming]").count()).toBe(1);

    // More than one paint before the reply completes.
    const seen = new Set<number>();
    while (seen.size < 3) {
      const text = await page
        .locator("[data-status=streaming]")
        .innerText()
        .catch(() => "");
      if (text.includes("Sentence")) seen.add(text.length);
      await page.waitForTimeout(40);
    }
    await screenshot(page, "chat-streaming");

    // A reload mid-stream shows the text so far and keeps streaming.
    await page.reload();
    await page.locator("[data-status=streaming]").waitFor();
    await page.getByRole("button", { name: "Regenerate" }).waitFor({ timeout: 15_000 });
    expect(await assistantText(page)).toContain("Sentence number 39 of a long answer.");
    const [conversationId] = page.url().split("/c/").slice(-1);
    const stored = await suite.server.services.db.query.messages.findMany({ where: (m, { eq }) => eq(m.conversationId, conversationId!) });
    expect(stored.find((m) => m.role === "assistant")!.content).toBe(LONG_REPLY);

    // Stop: the upstream sees the connection close and the partial text stays.
    suite.upstream.enqueue({ kind: "reply", text: LONG_REPLY, tokenDelayMs: 40 });
    await send(page, "Again, please");
    await page.locator("[data-status=streaming]").getByText("Sentence number 2 ").waitFor();
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByText("Stopped.").waitFor();
    await eventually(() => suite.upstream.requests.at(-1)!.closedEarly);
    expect(suite.upstream.requests.at(-1)!.tokensSent).toBeLessThan(tokenize(LONG_REPLY).length);
    const partial = await assistantText(page);
    expect(partial).toContain("Sentence number 2");
    expect(partial).not.toContain("Sentence number 39");
    await screenshot(page, "chat-stopped");
  });

  it("a reasoning model: loading, then thinking folded under a line, then the answer; a cut-off reply can be continued", async () => {
    const { page } = await signedInPage("thinking");
    const thought = Array.from({ length: 30 }, (_, i) => `Step ${i}: weigh the options.`).join(" ");
    suite.upstream.enqueue(
      { kind: "status", status: 503, message: "Loading model" },
      { kind: "reply", reasoning: thought, text: "The answer is **42**.", tokenDelayMs: 15 },
    );
    await send(page, "What is the answer?");
    await page.locator(".generating[data-phase=loading]").getByText("still loading the model").waitFor();
    await page.locator(".thinking summary").getByText("Thinking…").waitFor();
    await screenshot(page, "chat-thinking");
    await page.getByRole("button", { name: "Regenerate" }).waitFor({ timeout: 15_000 });
    const summary = page.locator(".message-assistant .thinking summary").last();
    expect(await summary.innerText()).toMatch(/^Thought for (a moment|\d+ s)$/);
    // Folded: the thinking is there, hidden until asked for; the answer is markdown.
    await expect(page.locator(".thinking-text").last().isVisible()).resolves.toBe(false);
    expect(await page.locator(".message-assistant strong").last().innerText()).toBe("42");
    await summary.click();
    await page.locator(".thinking-text").last().getByText("Step 29: weigh the options.").waitFor();
    await screenshot(page, "chat-thought");

    suite.upstream.enqueue(
      { kind: "reply", text: "The first half of a long", finishReason: "length" },
      { kind: "reply", text: "answer, finished." },
    );
    await send(page, "Now a long one");
    await page.getByText("The reply stopped at the longest a reply may be.").waitFor();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator(".message-user").getByText("Continue from where you stopped.").waitFor();
    await page.locator(".message-assistant").last().getByText("answer, finished.").waitFor();
    await expect(page.getByRole("button", { name: "Continue" }).count()).resolves.toBe(0);
    expect(suite.upstream.requests.at(-1)!.messages.at(-2)).toEqual({ role: "assistant", content: "The first half of a long" });

    // All of it comes back after a reload.
    await page.reload();
    await page
      .locator(".message-assistant .thinking summary")
      .getByText(/^Thought for/)
      .waitFor();
    await page.getByText("The reply stopped at the longest a reply may be.").waitFor();
  });

  it("message actions are compact icons that appear with the pointer or keyboard, with the same names", async () => {
    const { page, user } = await signedInPage("actions");
    const id = createConversation(suite.server.services, user.id, [
      { role: "user", content: "First question" },
      { role: "assistant", content: "First answer" },
      { role: "user", content: "Second question" },
      { role: "assistant", content: "Second answer" },
    ]);
    await page.goto(`${suite.server.url}/c/${id}`);
    const first = page.locator(".message-assistant").first();
    const copy = first.getByRole("button", { name: "Copy" });
    const opacity = () => copy.evaluate((element) => getComputedStyle(element).opacity);
    await expect.poll(opacity).toBe("0");
    await first.hover();
    await expect.poll(opacity).toBe("1");
    await page.mouse.move(0, 0);
    await expect.poll(opacity).toBe("0");
    await copy.focus();
    await expect.poll(opacity).toBe("1");
    // The latest reply shows its actions without asking.
    const last = page.locator(".message-assistant").last();
    expect(await last.getByRole("button", { name: "Regenerate" }).evaluate((element) => getComputedStyle(element).opacity)).toBe("1");
  });

  it("conversations can be renamed and deleted from the sidebar", async () => {
    const { page } = await signedInPage("sidebar");
    suite.upstream.enqueue({ kind: "reply", text: "Short answer." });
    await send(page, "First question here");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    await page.getByRole("link", { name: "First question here" }).waitFor();

    await page.getByRole("button", { name: "Rename “First question here”" }).click();
    await page.getByLabel("Conversation title").fill("Renamed chat");
    await page.getByLabel("Conversation title").press("Enter");
    await page.getByRole("link", { name: "Renamed chat" }).waitFor();
    await page.getByRole("heading", { name: "Renamed chat" }).waitFor();

    await page.getByRole("button", { name: "Delete “Renamed chat”" }).click();
    await page.getByRole("group", { name: "Delete “Renamed chat”?" }).getByRole("button", { name: "Delete" }).click();
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    expect(await page.getByRole("link", { name: "Renamed chat" }).count()).toBe(0);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
  });

  it("a stored XSS payload stays inert text, and remote images are not loaded", async () => {
    const { page, dialogs } = await signedInPage("xss");
    const payload = `<img src=x onerror=alert(1)> <script>alert(2)</script>`;
    suite.upstream.enqueue({
      kind: "reply",
      text: `Here: ${payload}\n\n![tracker](http://127.0.0.1:9/pixel.png)\n\n[a link](https://example.com)`,
    });
    await send(page, payload);
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    await page.reload();
    await page.getByRole("button", { name: "Regenerate" }).waitFor();

    const messages = page.locator(".messages");
    expect(await messages.locator("img, script").count()).toBe(0);
    expect(await page.locator(".message-user").innerText()).toContain(payload);
    expect(await assistantText(page)).toContain("<img src=x onerror=alert(1)>");
    await messages.getByRole("button", { name: /Image “tracker” from 127.0.0.1:9/ }).waitFor();
    expect(await messages.getByRole("link", { name: "a link" }).getAttribute("rel")).toBe("noopener noreferrer nofollow");
    expect(dialogs).toEqual([]);
  });

  it("markdown renders while it streams, and a saved reply's, sent as HTML rendered once, comes alive in the browser", async () => {
    const { page } = await signedInPage("hydrate");
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
    });
    const markdown = [
      "Some **bold**, *italic*, `code`, ~~struck~~, a [link](https://example.com) and https://auto.example.com/x.",
      "Adjacent text, then <b>raw html</b> & an entity &amp; more.",
      "```ts\nconst answer = 42;\nconsole.log(answer);\n```",
      "1. one\n2. two\n   - nested",
      "| left | right |\n|:-----|------:|\n| 1    | 2     |",
      "- [ ] open task\n- [x] done task",
      "![a cat](http://127.0.0.1:9/cat.png)",
      "Line one  \nline two\n\nÜnïcödé ✓ 中文 😀",
    ].join("\n\n");
    // Block by block: while it streams, the blocks already written show rendered.
    suite.upstream.enqueue({ kind: "reply", tokens: markdown.split(/(?<=\n\n)/), tokenDelayMs: 150 });
    await send(page, "Show me everything markdown can do");
    await page.locator("[data-status=streaming] .markdown table td").first().waitFor();
    expect(await page.locator("[data-status=streaming] .markdown pre code").innerText()).toContain("const answer = 42;");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    // Twice: the first render of the saved reply, then the HTML the server kept.
    for (let load = 0; load < 2; load++) {
      await page.reload();
      await page.getByRole("button", { name: "Regenerate" }).waitFor();
      const reply = page.locator(".message-assistant .markdown").last();
      await reply.locator("code .hljs-keyword").first().waitFor();
      await reply.getByRole("button", { name: /Image “a cat”/ }).click();
      await reply.locator("img[alt='a cat']").waitFor();
      expect(await reply.locator("table td").allInnerTexts()).toEqual(["1", "2"]);
      expect(await reply.innerText()).toContain("<b>raw html</b> & an entity & more.");
    }
    expect(problems).toEqual([]);
  });

  it("follows the stream at the bottom, and offers a way back after scrolling up", async () => {
    const { page } = await signedInPage("scroll", { width: 800, height: 500 });
    suite.upstream.enqueue({ kind: "reply", text: LONG_REPLY, tokenDelayMs: 15 });
    await send(page, "A long one, please");
    await page.getByRole("button", { name: "Stop" }).waitFor();
    await page.locator("[data-status=streaming]").getByText("Sentence number 25 ").waitFor();
    const messages = page.locator(".messages");
    const distanceFromBottom = () => messages.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight);
    expect(await messages.evaluate((element) => element.scrollHeight > element.clientHeight * 1.5)).toBe(true);
    expect(await distanceFromBottom()).toBeLessThan(80);

    await messages.evaluate((element) => element.scrollTo({ top: 0 }));
    await page.getByRole("button", { name: "↓ Jump to latest" }).click();
    expect(await distanceFromBottom()).toBeLessThan(80);
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    expect(await distanceFromBottom()).toBeLessThan(80);
  });

  it("sends a message far longer than a stream's URL can carry, in a new chat and in an open one", async () => {
    const { page } = await signedInPage("long-message");
    // 4,000 CJK characters: 36 KB once URL-encoded (Node refuses 16 KB of request line, nginx 8 KB).
    const long = "长".repeat(4_000);
    suite.upstream.enqueue({ kind: "reply", text: "Got the long one." }, { kind: "reply", text: "Got the second." });
    await page.getByLabel("Message").fill(long);
    await page.getByLabel("Message").press("Enter");
    await page.getByText("Got the long one.").waitFor();
    await page.getByLabel("Message").fill(`${long} again`);
    await page.getByLabel("Message").press("Enter");
    await page.getByText("Got the second.").waitFor();
    expect(suite.upstream.requests.at(-1)?.messages.at(-1)?.content).toBe(`${long} again`);
    expect(await page.getByLabel("Message").inputValue()).toBe("");
  });

  it("edit and resend, move between versions, reload onto the same version, regenerate keeps the old reply", async () => {
    const { page } = await signedInPage("versions");
    suite.upstream.enqueue({ kind: "reply", text: "Answer one." });
    await send(page, "First question");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    const question = page.locator(".message-user").first();

    // Escape takes an edit back.
    await question.hover();
    await question.getByRole("button", { name: "Edit", exact: true }).click();
    await page.getByLabel("Edited text").fill("Never sent");
    await page.getByLabel("Edited text").press("Escape");
    await question.getByText("First question").waitFor();

    // Enter sends the new version, answered on its own branch.
    suite.upstream.enqueue({ kind: "reply", text: "Answer two." });
    await question.hover();
    await question.getByRole("button", { name: "Edit", exact: true }).click();
    await page.getByLabel("Edited text").fill("First question, edited");
    await page.getByLabel("Edited text").press("Enter");
    await page.getByText("Answer two.").waitFor();
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    expect(await page.locator(".message").count()).toBe(2);
    await page.getByRole("group", { name: "Version 2 of 2" }).waitFor();
    expect(suite.upstream.requests.at(-1)?.messages.map((message) => message.content)).toEqual(["First question, edited"]);

    // Back to the first version, with its own reply; the conversation remembers it.
    await page.getByRole("button", { name: "Previous version" }).click();
    await page.getByText("Answer one.").waitFor();
    await page.getByRole("group", { name: "Version 1 of 2" }).waitFor();
    await page.reload();
    await page.getByText("Answer one.").waitFor();
    await page.getByRole("group", { name: "Version 1 of 2" }).waitFor();
    await screenshot(page, "versions");

    // Regenerate: a second version of the reply; the first is one click away.
    suite.upstream.enqueue({ kind: "reply", text: "Answer one, again." });
    await page.getByRole("button", { name: "Regenerate" }).click();
    await page.getByText("Answer one, again.").waitFor();
    await page.locator(".message-assistant").getByRole("group", { name: "Version 2 of 2" }).waitFor();
    await page.locator(".message-assistant").getByRole("button", { name: "Previous version" }).click();
    await page.getByText("Answer one.").waitFor();
    await page.getByRole("button", { name: "Next version" }).last().focus();
    await page.keyboard.press("Enter");
    await page.getByText("Answer one, again.").waitFor();
    // The keyboard stays on the versions of the message now shown (Next is disabled at the end).
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Previous version");

    // Deleting the version shown asks first (Escape takes it back), then shows the one before it.
    const reply = page.locator(".message-assistant");
    await reply.hover();
    await reply.getByRole("button", { name: "Delete", exact: true }).click();
    await page.keyboard.press("Escape");
    await reply.getByRole("button", { name: "Delete", exact: true }).and(page.locator(":focus")).waitFor();
    await reply.getByRole("button", { name: "Delete", exact: true }).click();
    await reply.getByRole("group", { name: "Delete this and all that follows it?" }).getByRole("button", { name: "Delete" }).click();
    await page.getByText("Answer one.").waitFor();
    expect(await page.getByText("Answer one, again.").count()).toBe(0);
    expect(await reply.getByRole("group", { name: /^Version/ }).count()).toBe(0);
    await page.reload();
    await page.getByText("Answer one.").waitFor();
  });

  it("a reply keeps streaming on its branch while another version is read, and is followed again on the way back", async () => {
    const { page } = await signedInPage("branch-while-streaming");
    suite.upstream.enqueue({ kind: "reply", text: "The first answer." });
    await send(page, "Question");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    suite.upstream.enqueue({ kind: "reply", text: LONG_REPLY, tokenDelayMs: 25 });
    const question = page.locator(".message-user").first();
    await question.hover();
    await question.getByRole("button", { name: "Edit", exact: true }).click();
    await page.getByLabel("Edited text").fill("Question, asked again");
    await page.getByLabel("Edited text").press("Enter");
    await page.getByRole("button", { name: "Stop" }).waitFor();
    await page.locator("[data-status=streaming]").getByText("Sentence number 2 ").waitFor();

    // Reading the first version meanwhile: nothing streams on this branch.
    await page.getByRole("button", { name: "Previous version" }).click();
    await page.getByText("The first answer.").waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor();
    expect(await page.locator("[data-status=streaming]").count()).toBe(0);

    // Back: the reply is still being written, and followed to its end.
    await page.getByRole("button", { name: "Next version" }).click();
    await page.getByRole("button", { name: "Stop" }).waitFor();
    await page.getByRole("button", { name: "Regenerate" }).waitFor({ timeout: 15_000 });
    expect(await assistantText(page)).toContain("Sentence number 39 of a long answer.");
  });

  it("a conversation's settings: the temperature and longest reply set there go with its next replies", async () => {
    const { page } = await signedInPage("settings");
    await send(page, "Hello");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    await page.getByText("Settings", { exact: true }).click();
    await page.getByLabel("Temperature").fill("0.3");
    await page.getByLabel("Longest reply").fill("5000");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("Saved.").waitFor();
    await page.getByLabel("Longest reply").fill("999999");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("A reply may be at most").waitFor();
    await page.getByLabel("Longest reply").fill("5000");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("Saved.").waitFor();
    await send(page, "Again");
    await expect.poll(() => suite.upstream.requests.at(-1)?.messages.at(-1)?.content).toBe("Again");
    expect(suite.upstream.requests.at(-1)).toMatchObject({ temperature: 0.3, maxTokens: { value: 5000 } });
  });

  it("a conversation whose model is no longer offered keeps its history and offers the default model", async () => {
    const { page, user } = await signedInPage("model-gone");
    const id = createConversation(suite.server.services, user.id, [
      { role: "user", content: "Old question" },
      { role: "assistant", content: "Old answer" },
    ]);
    suite.server.services.db.update(conversations).set({ model: "gpt-retired" }).where(eq(conversations.id, id)).run();
    await page.goto(`${suite.server.url}/c/${id}`);
    await page.getByText("Old answer").waitFor();
    const notice = page.getByRole("note").filter({ hasText: "no longer offered" });
    await notice.getByText("“gpt-retired”").waitFor();
    await screenshot(page, "model-gone");
    await notice.getByRole("button", { name: "Continue with fake-small" }).click();
    await notice.waitFor({ state: "detached" });
    expect(await page.getByLabel("Model").inputValue()).toBe("fake-small");
    suite.upstream.enqueue({ kind: "reply", text: "New answer." });
    await send(page, "New question");
    await page.getByText("New answer.").waitFor();
    expect(suite.upstream.requests.at(-1)!.messages.map((message) => message.content)).toEqual([
      "Old question",
      "Old answer",
      "New question",
    ]);
  });

  it("compare two models: both stream side by side, keeping one makes it the branch shown, the other a version", async () => {
    const { page } = await signedInPage("compare");
    await page.getByRole("button", { name: "Compare models" }).click();
    const choice = page.getByRole("group", { name: /Send to 2–3 models/ });
    expect(await choice.getByRole("checkbox", { checked: true }).count()).toBe(2);
    suite.upstream.enqueueFor("fake-small", { kind: "reply", text: `Small: ${LONG_REPLY}`, tokenDelayMs: 10 });
    suite.upstream.enqueueFor("fake-large", { kind: "reply", text: `Large: ${LONG_REPLY}`, tokenDelayMs: 10 });
    await send(page, "Which is better?");
    await page.waitForURL(/\/c\/[0-9a-z]+$/);

    // Both stream at once, each under its model's name.
    const small = page.getByRole("region", { name: "Reply from fake-small" });
    const large = page.getByRole("region", { name: "Reply from fake-large" });
    await page.getByRole("button", { name: "Stop" }).waitFor();
    await small.locator("[data-status=streaming]").waitFor();
    await large.locator("[data-status=streaming]").waitFor();
    await screenshot(page, "compare-streaming");
    await small.getByText("Sentence number 39").waitFor({ timeout: 15_000 });
    await large.getByText("Sentence number 39").waitFor({ timeout: 15_000 });
    // Compare was for that message: the composer sends to one model again.
    await page.getByRole("button", { name: "Compare models" }).waitFor();
    await screenshot(page, "compare-done");

    // Keeping the large model's reply: the comparison folds into versions, the large one shown.
    await large.getByRole("button", { name: "Keep this reply" }).click();
    await page.getByRole("region", { name: "Compared replies" }).waitFor({ state: "detached" });
    await page.locator(".message-assistant").getByRole("group", { name: "Version 2 of 2" }).waitFor();
    expect(await assistantText(page)).toContain("Large:");
    // The conversation goes on with the kept reply's model.
    await expect.poll(() => page.getByLabel("Model").inputValue()).toBe("fake-large");
    await page.reload();
    expect(await assistantText(page)).toContain("Large:");

    // A reload sends to one model again; the next message follows the kept reply.
    await page.getByRole("button", { name: "Compare models" }).waitFor();
    suite.upstream.enqueue({ kind: "reply", text: "Following on." });
    await send(page, "Go on");
    await page.getByText("Following on.").waitFor();
    expect(suite.upstream.requests.at(-1)!.model).toBe("fake-large");
    const sent = suite.upstream.requests.at(-1)!.messages.map((message) => message.content);
    expect(sent[0]).toBe("Which is better?");
    expect(sent[1]).toMatch(/^Large:/);
  });

  it("a search hit in a version not shown opens on its branch; a message continues the branch its page shows, whatever another tab chose", async () => {
    const { page } = await signedInPage("search-branch");
    suite.upstream.enqueue({ kind: "reply", text: "Zebras have stripes." });
    await send(page, "Tell me about zebras");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    suite.upstream.enqueue({ kind: "reply", text: "Giraffes are tall." });
    await page.getByRole("button", { name: "Regenerate" }).click();
    await page.getByText("Giraffes are tall.").waitFor();
    await page.getByRole("button", { name: "Regenerate" }).waitFor();

    await page.getByLabel("Search conversations").fill("stripes");
    const hit = page.locator(".sidebar").getByRole("link", { name: /Tell me about zebras/ });
    await hit.getByText("Zebras have stripes.").waitFor();
    await screenshot(page, "search-hit");
    await hit.click();
    await page.locator(".message-assistant").getByText("Zebras have stripes.").waitFor();
    await page.locator(".message-assistant").getByRole("group", { name: "Version 1 of 2" }).waitFor();
    await page.locator(".message-hit").waitFor();
    // Shown once: the address loses the hit, so a reload shows what the conversation shows then.
    await eventually(() => !page.url().includes("?"));

    // Another tab moves the conversation to the other version; this tab still shows the first
    // and its next message follows it.
    const other = await page.context().newPage();
    await other.goto(page.url());
    await other.getByRole("button", { name: "Next version" }).last().click();
    await other.getByText("Giraffes are tall.").waitFor();
    suite.upstream.enqueue({ kind: "reply", text: "More on stripes." });
    await send(page, "More please");
    await page.locator(".message-assistant").getByText("More on stripes.").waitFor();
    expect(suite.upstream.requests.at(-1)!.messages.map((message) => message.content)).toEqual([
      "Tell me about zebras",
      "Zebras have stripes.",
      "More please",
    ]);
    await other.close();
  });

  it("a first message sent from the new-chat page goes to its conversation only, not to the next one opened", async () => {
    const { page, user } = await signedInPage("pending-once");
    const other = createConversation(suite.server.services, user.id, [
      { role: "user", content: "An older question" },
      { role: "assistant", content: "An older answer" },
    ]);
    await page.reload();
    suite.upstream.enqueue({ kind: "reply", text: "Hello back." });
    await send(page, "Hello first");
    await page.getByText("Hello back.").waitFor();
    await page.locator(".sidebar").getByRole("link", { name: "A saved conversation" }).click();
    await page.getByText("An older answer").waitFor();
    await page.waitForTimeout(500);
    const stored = suite.server.services.db.select().from(messages).where(eq(messages.conversationId, other)).all();
    expect(stored.map((message) => message.content)).toEqual(["An older question", "An older answer"]);
  });

  it("a search hit far back in a long conversation is loaded, marked and brought into view", async () => {
    const { page, user } = await signedInPage("hit-far-back");
    const turns = Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0
        ? { role: "user" as const, content: i === 2 ? "Where do capybaras live?" : `Question ${i}` }
        : { role: "assistant" as const, content: `Answer ${i}` },
    );
    createConversation(suite.server.services, user.id, turns, "Long talk");
    await page.reload();
    await page.getByLabel("Search conversations").fill("capybaras");
    const found = page.locator(".sidebar").getByRole("link", { name: /Long talk/ });
    await found.getByText("Where do capybaras live?").waitFor();
    await found.click();
    const hit = page.locator(".message-hit");
    await hit.getByText("Where do capybaras live?").waitFor();
    expect(await hit.getAttribute("aria-current")).toBe("true");
    await expect
      .poll(() =>
        hit.evaluate((element) => element.getBoundingClientRect().top > 0 && element.getBoundingClientRect().bottom < window.innerHeight),
      )
      .toBe(true);
  });

  it("keeps the draft when sending fails (another tab deleted the reply it would follow)", async () => {
    const { page } = await signedInPage("draft");
    suite.upstream.enqueue({ kind: "reply", text: "Short answer." });
    await send(page, "First");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    const conversationId = page.url().split("/c/")[1]!;

    // Another tab deletes the reply this one shows: sending after it is refused, the draft stays.
    const other = await page.context().newPage();
    await other.goto(page.url());
    const reply = other.locator(".message-assistant");
    await reply.hover();
    await reply.getByRole("button", { name: "Delete", exact: true }).click();
    await reply.getByRole("button", { name: "Delete", exact: true }).click();
    await other.getByText("Send a message to start the conversation.").waitFor();
    await page.getByLabel("Message").fill("My carefully written draft");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByRole("alert").getByText("is not in this conversation").waitFor();
    expect(await page.getByLabel("Message").inputValue()).toBe("My carefully written draft");

    expect(conversationId).toMatch(/^[0-9a-z]+$/);
    await other.close();
  });

  it("works on a phone: the sidebar is a drawer", async () => {
    const { page } = await signedInPage("phone", { width: 375, height: 740 });
    expect(await page.locator(".sidebar").isVisible()).toBe(false);
    suite.upstream.enqueue({ kind: "reply", text: "Hello, phone." });
    await send(page, "Hi from a phone");
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, "phone-chat");

    // The drawer: the button says whether it is open, focus goes in and comes back, Escape closes it.
    const toggle = page.getByRole("button", { name: "Open sidebar" });
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    await toggle.click();
    await page.getByRole("link", { name: "Hi from a phone" }).waitFor();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Close sidebar");
    // Escape while renaming ends the renaming, on the conversation, with the drawer still open.
    await page.getByRole("button", { name: "Rename “Hi from a phone”" }).click();
    await page.getByLabel("Conversation title").press("Escape");
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Hi from a phone");
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    // The page behind the open drawer is inert: Tab and screen readers stay in the drawer.
    expect(await page.locator("main.chat-main").evaluate((main) => (main as HTMLElement).inert)).toBe(true);
    // Delete asks in place with focus on Cancel; Escape takes the question back, drawer open.
    await page.getByRole("button", { name: "Delete “Hi from a phone”" }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await page.keyboard.press("Escape");
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Delete “Hi from a phone”");
    expect(await page.getByRole("group", { name: "Delete “Hi from a phone”?" }).count()).toBe(0);
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    await page.keyboard.press("Escape");
    await expect.poll(() => toggle.getAttribute("aria-expanded")).toBe("false");
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Open sidebar");
    expect(await page.locator("main.chat-main").evaluate((main) => (main as HTMLElement).inert)).toBe(false);

    await toggle.click();
    await page.waitForTimeout(300); // the drawer slides in
    await screenshot(page, "phone-drawer");
    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    expect(await page.locator(".sidebar").isVisible()).toBe(false);
  });
});
