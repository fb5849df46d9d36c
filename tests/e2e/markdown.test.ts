import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { hasChromium, screenshot } from "../helpers/browser";
import { useBrowserSuite } from "../helpers/e2e";
import { createConversation, createUser } from "../helpers/factories";

const CODE = 'def greet(name):\n    return f"<hello {name}>"';
const REPLY = [
  "Here is the function:",
  "```python\n" + CODE + "\n```",
  "And a picture: ![a dog](http://127.0.0.1:9/dog.png)",
  ...Array.from({ length: 20 }, (_, i) => `Paragraph ${i} of the rest of the answer.`),
].join("\n\n");

describe.skipIf(!hasChromium)("in a real browser: a reply's markdown", () => {
  const suite = useBrowserSuite();

  async function signedInPage(name: string) {
    const user = await createUser(suite.server.services);
    const page = await suite.newPage(name);
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
    });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: suite.server.url });
    await suite.logIn(page, user.username);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    return { page, user, problems };
  }

  /** Copy code says so, and the clipboard holds the code as written; by mouse or by keyboard. */
  async function copiesCode(page: Page, reply: Locator, by: "click" | "keyboard") {
    const button = reply.getByRole("button", { name: "Copy code" });
    if (by === "click") await button.click();
    else await button.press("Enter");
    await reply.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(CODE);
    await page.evaluate("navigator.clipboard.writeText('')");
    // The label comes back, so the button can be used again.
    await reply.getByRole("button", { name: "Copy code" }).waitFor({ timeout: 5_000 });
  }

  /** The image is fetched only once asked for, without telling its host where it was seen. */
  async function loadsImage(reply: Locator, by: "click" | "keyboard") {
    expect(await reply.locator("img").count()).toBe(0);
    const button = reply.getByRole("button", { name: "Image “a dog” from 127.0.0.1:9 — load it" });
    if (by === "click") await button.click();
    else await button.press("Enter");
    const image = reply.locator("img[alt='a dog']");
    await image.waitFor({ state: "attached" });
    expect(await image.getAttribute("src")).toBe("http://127.0.0.1:9/dog.png");
    expect(await image.getAttribute("referrerpolicy")).toBe("no-referrer");
    expect(await image.getAttribute("loading")).toBe("lazy");
  }

  it("code copies and images load in a reply while it streams, once it is saved, and after a reload", async () => {
    const { page, problems } = await signedInPage("interactions");
    suite.upstream.enqueue({ kind: "reply", tokens: REPLY.split(/(?<=\n\n)/), tokenDelayMs: 300 });
    await page.getByLabel("Message").fill("Write a greeting function");
    await page.getByLabel("Message").press("Enter");

    // While it streams: the code and the picture are settled blocks once the text moves on,
    // and the code is coloured once in view.
    const streaming = page.locator("[data-status=streaming] .markdown");
    await streaming.getByText("Paragraph 0 ").waitFor();
    await copiesCode(page, streaming, "click");
    await streaming.locator("code.hljs .hljs-keyword").first().waitFor();
    await loadsImage(streaming, "click");
    expect(await page.locator("[data-status=streaming]").count()).toBe(1);

    // Saved: the reply renders whole, and its buttons work again.
    await page.getByRole("button", { name: "Regenerate" }).waitFor({ timeout: 15_000 });
    const saved = page.locator(".message-assistant .markdown").last();
    await copiesCode(page, saved, "keyboard");
    await saved.locator("code.hljs .hljs-keyword").first().waitFor();
    await loadsImage(saved, "keyboard");

    // Server-rendered, then hydrated: code is coloured once scrolled into view (the page
    // opens at its end), which also shows the page's script is running.
    await page.reload();
    const reloaded = page.locator(".message-assistant .markdown").last();
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    await reloaded.locator("pre code").scrollIntoViewIfNeeded();
    await reloaded.locator("code.hljs .hljs-keyword").first().waitFor();
    await copiesCode(page, reloaded, "click");
    await loadsImage(reloaded, "click");
    await screenshot(page, "markdown-reply");
    expect(problems).toEqual([]);
  }, 40_000);

  it("math renders while streaming (KaTeX loads with the first formula), once saved, after a reload, and on a phone", async () => {
    const { page, problems } = await signedInPage("math");
    const katexScripts: string[] = [];
    page.on("request", (request) => {
      if (/\/katex-[\w-]+\.js$/.test(request.url())) katexScripts.push(request.url());
    });
    const wide = Array.from({ length: 40 }, (_, i) => `a_{${i + 1}} x^{${i + 1}}`).join(" + ");
    suite.upstream.enqueue({
      kind: "reply",
      tokens: [
        "Euler's identity: $e^{i\\pi} + 1 = 0$.\n\n",
        "$$\n\\int_0^1 x\\,dx = \\frac{1}{2}\n$$\n\n",
        `\\[\n${wide}\n\\]\n\n`,
        "It costs $5 and $10.\n\n",
        "Done.",
      ],
      tokenDelayMs: 300,
    });
    // A page without math does not load KaTeX.
    expect(katexScripts).toEqual([]);
    await page.getByLabel("Message").fill("Some math, please");
    await page.getByLabel("Message").press("Enter");

    const streaming = page.locator("[data-status=streaming] .markdown");
    await streaming.locator(".katex").first().waitFor();
    expect(katexScripts).toHaveLength(1);

    await page.getByRole("button", { name: "Regenerate" }).waitFor({ timeout: 15_000 });
    const saved = page.locator(".message-assistant .markdown").last();
    expect(await saved.locator(".katex").count()).toBe(3);
    expect(await saved.locator(".katex-display").count()).toBe(2);
    await saved.getByText("It costs $5 and $10.").waitFor();
    // KaTeX's fonts load under the Content-Security-Policy (a refusal would be a console error).
    await page.waitForFunction(`[...document.fonts].some((font) => font.family.includes("KaTeX_Main") && font.status === "loaded")`);

    // The server sends the formulas rendered; the page loads KaTeX before hydrating, so they stay.
    const served = await (await page.request.get(page.url())).text();
    expect(served.match(/class="katex"/g)).toHaveLength(3);
    await page.reload();
    const reloaded = page.locator(".message-assistant .markdown").last();
    await page.getByRole("button", { name: "Regenerate" }).waitFor();
    expect(await reloaded.locator(".katex").count()).toBe(3);
    await page.getByLabel("Message").fill("still interactive");
    await page.waitForFunction("!document.querySelector('.composer-button').disabled");
    await screenshot(page, "math-reply");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "math-reply-dark");

    // On a phone the wide formula scrolls in its own box; the page does not scroll sideways.
    await page.setViewportSize({ width: 375, height: 740 });
    const formula = reloaded.locator(".katex-display").last();
    await formula.scrollIntoViewIfNeeded();
    const box = await formula.evaluate((element) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth }));
    expect(box.scrollWidth).toBeGreaterThan(box.clientWidth);
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await screenshot(page, "math-reply-phone-dark");
    expect(problems).toEqual([]);
  }, 40_000);

  it("a conversation holding replies crafted to stall the parser opens without freezing the tab", async () => {
    const { page, user, problems } = await signedInPage("crafted");
    await page.addInitScript(`
      window.longTasks = [];
      new PerformanceObserver((list) => list.getEntries().forEach((entry) => window.longTasks.push(entry.duration)))
        .observe({ type: "longtask", buffered: true });
    `);
    // Issue #12: the first took 98 s to render, the second overflowed the stack.
    const stars = createConversation(suite.server.services, user.id, [
      { role: "user", content: "Stars" },
      { role: "assistant", content: "*a".repeat(50_000) },
    ]);
    const quotes = createConversation(suite.server.services, user.id, [
      { role: "user", content: "Quotes" },
      { role: "assistant", content: `${"> ".repeat(1_250)}the bottom` },
    ]);

    for (const [id, shows] of [
      [stars, (reply: Locator) => reply.locator("em").nth(24_999)],
      [quotes, (reply: Locator) => reply.locator(".markdown-plain", { hasText: "the bottom" })],
    ] as const) {
      const started = Date.now();
      await page.goto(`${suite.server.url}/c/${id}`);
      const reply = page.locator(".message-assistant .markdown").last();
      await shows(reply).waitFor();
      // Interactive: typing reaches the composer, and the page answers script at once.
      await page.getByLabel("Message").fill("still responsive");
      await page.waitForFunction("!document.querySelector('.composer-button').disabled");
      const opened = Date.now() - started;
      const longTasks = await page.evaluate<number[]>("window.longTasks");
      // Generous bounds (a busy machine must not fail them): opening takes about a second.
      expect(opened).toBeLessThan(10_000);
      expect(Math.max(0, ...longTasks)).toBeLessThan(3_000);
    }
    expect(problems).toEqual([]);
  });

  it("a wide table keeps its words whole and scrolls in its own box on a phone", async () => {
    const user = await createUser(suite.server.services);
    const page = await suite.newPage("table-phone", { width: 375, height: 740 });
    await suite.logIn(page, user.username);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    const header = "| Product | Maker | Released | Context window | Price per million tokens |";
    const rows = [
      "| ChatGPT | OpenAI | 2022 | 128000 tokens | 2.50 dollars |",
      "| Claude | Anthropic | 2023 | 200000 tokens | 3.00 dollars |",
    ];
    const id = createConversation(suite.server.services, user.id, [
      { role: "user", content: "A table" },
      { role: "assistant", content: [header, "| --- | --- | --- | --- | --- |", ...rows].join("\n") },
    ]);
    await page.goto(`${suite.server.url}/c/${id}`);
    const table = page.locator(".message-assistant table");
    await table.waitFor();
    // One line box per word: no word was broken to squeeze its column.
    const linesOf = (text: string) =>
      page.evaluate((word) => {
        const cell = [...document.querySelectorAll(".message-assistant td")].find((td) => td.textContent === word)!;
        const range = document.createRange();
        range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
      }, text);
    expect(await linesOf("ChatGPT")).toBe(1);
    expect(await linesOf("Anthropic")).toBe(1);
    const { scrollWidth, clientWidth } = await table.evaluate((element) => ({
      scrollWidth: element.scrollWidth,
      clientWidth: element.clientWidth,
    }));
    expect(scrollWidth).toBeGreaterThan(clientWidth);
    // The page itself does not scroll sideways.
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
    await screenshot(page, "table-phone");
  });
});
