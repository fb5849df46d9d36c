import MarkdownIt from "markdown-it";
import { describe, expect, it, vi } from "vitest";
import { MAX_MARKDOWN_CHARS, renderMarkdown } from "~/lib/markdown";

/** Every `<a …>` start tag in the HTML. */
const anchors = (html: string) => html.match(/<a\b[^>]*>/g) ?? [];

describe("a reply's markdown, rendered", () => {
  it("shows raw HTML as the text it is", () => {
    const html = renderMarkdown(`Here: <img src=x onerror=alert(1)> <script>alert(2)</script>\n\n<div onclick="x()">block</div>`);
    expect(html).not.toMatch(/<(img|script|div)\b/);
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(2)&lt;/script&gt;");
    expect(html).toContain("&lt;div onclick=&quot;x()&quot;&gt;block&lt;/div&gt;");
  });

  it("makes no link of a script, a data document or a local file", () => {
    for (const markdown of [
      "[click](javascript:alert(1))",
      "[click](JavaScript:alert(1))",
      "[click](&#x6A;avascript:alert(1))",
      "[click](vbscript:msgbox(1))",
      "[click](data:text/html;base64,PHNjcmlwdD4=)",
      "[click](file:///etc/passwd)",
      "<javascript:alert(1)>",
      "[click][ref]\n\n[ref]: javascript:alert(1)",
    ]) {
      const html = renderMarkdown(markdown);
      expect(anchors(html), markdown).toEqual([]);
      expect(html, markdown).not.toMatch(/href=/);
    }
  });

  it("opens links in a new tab, telling the target nothing", () => {
    const html = renderMarkdown("[a link](https://example.com/a), https://example.com/b, <https://example.com/c> and www.example.com/d");
    expect(anchors(html)).toEqual([
      `<a href="https://example.com/a" target="_blank" rel="noopener noreferrer nofollow">`,
      `<a href="https://example.com/b" target="_blank" rel="noopener noreferrer nofollow">`,
      `<a href="https://example.com/c" target="_blank" rel="noopener noreferrer nofollow">`,
      `<a href="http://www.example.com/d" target="_blank" rel="noopener noreferrer nofollow">`,
    ]);
  });

  it("links bare web and mail addresses, but not file names", () => {
    const html = renderMarkdown("See https://example.com/x?y=1, mail ops@example.com, then run setup.py and read README.md.");
    expect(html).toContain(
      `<a href="https://example.com/x?y=1" target="_blank" rel="noopener noreferrer nofollow">https://example.com/x?y=1</a>,`,
    );
    expect(html).toContain(`<a href="mailto:ops@example.com" target="_blank" rel="noopener noreferrer nofollow">ops@example.com</a>`);
    expect(html).toContain("run setup.py and read README.md.");
    expect(anchors(html)).toHaveLength(2);
  });

  it("shows a button instead of loading an image, holding its address until asked", () => {
    const html = renderMarkdown(`![a "cat"](http://127.0.0.1:9/cat.png) ![](https://images.example.com/x.png?a=1&b=2)`);
    expect(html).not.toContain("<img");
    expect(html).toContain(
      `<button type="button" class="image-placeholder" data-image-src="http://127.0.0.1:9/cat.png" data-image-alt="a &quot;cat&quot;">` +
        `Image “a &quot;cat&quot;” from 127.0.0.1:9 — load it</button>`,
    );
    expect(html).toContain(
      `data-image-src="https://images.example.com/x.png?a=1&amp;b=2" data-image-alt="">Image from images.example.com — load it`,
    );
  });

  it("never offers to load an image from anything but a web address", () => {
    const html = renderMarkdown(
      "![tiny](data:image/png;base64,iVBORw0KGgo=) ![local](/api/trpc/auth.logout) ![odd](ftp://example.com/x.png)",
    );
    expect(html).not.toMatch(/<img|<button|data-image-src/);
    expect(html).toContain(`<span class="image-placeholder">Image “tiny” (not a web address, not shown)</span>`);
    expect(html).toContain(`Image “local” (not a web address, not shown)`);
  });

  it("keeps an image's address inside its attribute", () => {
    const html = renderMarkdown(`![x](https://example.com/"onerror="alert(1).png)`);
    expect(html).not.toContain(`"onerror="`);
  });

  it("puts code in a block with its language and a Copy code button", () => {
    expect(renderMarkdown("```ts\nconst a = 1 < 2;\n```")).toBe(
      `<div class="code-block"><div class="code-toolbar"><span class="code-language">ts</span>` +
        `<button type="button" class="button secondary small" data-copy-code="" aria-live="polite">Copy code</button></div>` +
        `<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre></div>\n`,
    );
    expect(renderMarkdown("Indented:\n\n    plain()\n")).toContain(
      `<div class="code-block"><div class="code-toolbar"><button type="button" class="button secondary small" data-copy-code="" aria-live="polite">Copy code</button></div>` +
        `<pre><code>plain()</code></pre></div>`,
    );
    // An info string that is no language name gives no class to inject into.
    expect(renderMarkdown('```"><script>\nx\n```')).toContain("<pre><code>x</code></pre>");
    expect(renderMarkdown("~~~c++ title=main\nint main();\n~~~")).toContain(`<code class="language-c++">int main();</code>`);
  });

  it("renders tables with their alignment", () => {
    expect(renderMarkdown("| left | right |\n|:-----|------:|\n| 1    | 2     |")).toBe(
      [
        "<table>",
        "<thead>",
        "<tr>",
        '<th style="text-align:left">left</th>',
        '<th style="text-align:right">right</th>',
        "</tr>",
        "</thead>",
        "<tbody>",
        "<tr>",
        '<td style="text-align:left">1</td>',
        '<td style="text-align:right">2</td>',
        "</tr>",
        "</tbody>",
        "</table>",
        "",
      ].join("\n"),
    );
  });

  it("shows task lists as checkboxes that cannot be changed", () => {
    expect(renderMarkdown("- [ ] open task\n- [x] done **task**\n- \\[ ] escaped\n- [ ]\n- plain")).toBe(
      [
        '<ul class="contains-task-list">',
        '<li class="task-list-item"><input type="checkbox" disabled=""> open task</li>',
        '<li class="task-list-item"><input type="checkbox" disabled="" checked=""> done <strong>task</strong></li>',
        "<li>[ ] escaped</li>",
        "<li>[ ]</li>",
        "<li>plain</li>",
        "</ul>",
        "",
      ].join("\n"),
    );
  });

  it("strikes through, emphasises, breaks lines", () => {
    expect(renderMarkdown("~~gone~~ **bold** *it* `co<de>`  \nnext")).toBe(
      "<p><del>gone</del> <strong>bold</strong> <em>it</em> <code>co&lt;de&gt;</code><br>\nnext</p>\n",
    );
  });

  it("gathers footnotes at the end, with ids no other reply on the page shares", () => {
    const html = renderMarkdown("A claim[^1] and an aside^[said inline].\n\n[^1]: The source.");
    const id = /id="fnref-([0-9a-z]+)-1"/.exec(html)?.[1];
    expect(id).toBeTruthy();
    expect(html).toContain(`<sup class="footnote-ref"><a href="#fn-${id}-1" id="fnref-${id}-1">[1]</a></sup>`);
    expect(html).toContain(`<li id="fn-${id}-1" class="footnote-item"><p>The source. <a href="#fnref-${id}-1" class="footnote-backref">`);
    expect(html).toContain(`<li id="fn-${id}-2" class="footnote-item"><p>said inline <a href="#fnref-${id}-2"`);
    expect(html.indexOf('<section class="footnotes">')).toBeGreaterThan(html.indexOf("A claim"));
    const other = renderMarkdown("Another claim[^1].\n\n[^1]: Another source.");
    expect(other).not.toContain(`fn-${id}-1`);
    // Footnote links stay on the page: no new tab.
    expect(anchors(html).filter((a) => a.includes("_blank"))).toEqual([]);
  });

  it("shows text past the size limit as plain text, never parsed", () => {
    const text = "**not bold** <b>x</b>\n\n".repeat(Math.ceil((MAX_MARKDOWN_CHARS + 1) / 23));
    const html = renderMarkdown(text);
    expect(html.startsWith(`<p class="markdown-plain">**not bold** &lt;b&gt;x&lt;/b&gt;\n\n**not bold**`)).toBe(true);
    expect(html).not.toContain("<strong>");
    expect(html).not.toContain("<b>");
    expect(renderMarkdown(text.slice(0, MAX_MARKDOWN_CHARS))).toContain("<strong>not bold</strong>");
  });

  it("shows the text plain if rendering fails", () => {
    const failing = vi.spyOn(MarkdownIt.prototype, "render").mockImplementation(() => {
      throw new Error("a bug in a rule");
    });
    try {
      expect(renderMarkdown("**bold** <b>")).toBe(`<p class="markdown-plain">**bold** &lt;b&gt;</p>\n`);
    } finally {
      failing.mockRestore();
    }
    expect(renderMarkdown("**bold**")).toBe("<p><strong>bold</strong></p>\n");
  });

  it("keeps the text of blocks nested past the limit, as plain text", () => {
    const quoted = renderMarkdown(`${"> ".repeat(30)}deep text\n${"> ".repeat(30)}more`);
    expect(quoted).toContain(`<p class="markdown-plain">${"&gt; ".repeat(10)}deep text\n${"&gt; ".repeat(10)}more</p>`);
    expect(quoted.match(/<blockquote>/g)).toHaveLength(20);

    const listed = renderMarkdown(`${"- ".repeat(30)}deep item\n\nafter`);
    expect(listed).toContain("deep item");
    expect(listed).toContain("<p>after</p>");

    const indented = renderMarkdown(Array.from({ length: 30 }, (_, i) => `${"  ".repeat(i)}- item ${i}`).join("\n"));
    for (let i = 0; i < 30; i++) expect(indented).toContain(`item ${i}`);
  });

  it("keeps the markers of emphasis and links nested past the limit as text", () => {
    const html = renderMarkdown(`${"*a ".repeat(15)}x${" a*".repeat(15)}`);
    expect(html.match(/<em>/g)).toHaveLength(10);
    expect(html.match(/a/g)).toHaveLength(30);
    expect(html).toContain("<em>a *a *a *a *a *a x a* a* a* a* a* a</em>");
    const linked = renderMarkdown(`${"*a ".repeat(12)}[x](https://e.com)${" a*".repeat(12)}`);
    expect(linked).toContain("*a [x](https://e.com) a*");
    expect(anchors(linked)).toEqual([]);
  });
});
