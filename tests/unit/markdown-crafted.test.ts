import { describe, expect, it } from "vitest";
import { MAX_MARKDOWN_CHARS, renderMarkdown } from "~/lib/markdown";
import { MAX_MATH_HTML_DEPTH } from "~/lib/math";
import "~/lib/math.server";
import { craftedMarkdown, htmlDepth } from "../fixtures/crafted-markdown";

/**
 * With micromark these took 10–100 s of the server's only thread (or overflowed its stack,
 * and the conversation could never be opened again). The bound is generous so that a busy
 * machine cannot fail it; bench/markdown.ts has the real times (well under a second).
 */
const BOUND_MS = 2_000;
/** 20 nested blocks, a plain-text paragraph, 10 nested spans, a code block's wrappers. */
const MAX_DEPTH = 34;

/** Letters shown or kept in attributes: markup and entities aside, none may go missing. */
function letters(text: string): number {
  return text.replace(/&#?\w+;/g, "").replace(/[^a-z]/gi, "").length;
}
const shownLetters = (html: string) => letters(html.replace(/<\/?[a-z][a-z0-9]*|[a-z-]+="|[">]/gi, " "));

function render(text: string): { html: string; ms: number } {
  const start = performance.now();
  const html = renderMarkdown(text);
  return { html, ms: performance.now() - start };
}

describe("markdown crafted to be slow or deep renders quickly, bounded, whole", () => {
  it("the issue's replies: `*a` × 50,000 and `> ` × 1,250", () => {
    const stars = render("*a".repeat(50_000));
    expect(stars.ms).toBeLessThan(BOUND_MS);
    expect(stars.html.match(/<em>a<\/em>/g)).toHaveLength(25_000);

    const quotes = render("> ".repeat(1_250));
    expect(quotes.ms).toBeLessThan(BOUND_MS);
    expect(htmlDepth(quotes.html)).toBeLessThanOrEqual(MAX_DEPTH);
    const quoted = render(`${"> ".repeat(1_250)}the text`);
    expect(quoted.html).toContain("the text");
  });

  // At the largest size still parsed as markdown: past it, text is shown plain.
  for (const { name, text } of craftedMarkdown(MAX_MARKDOWN_CHARS)) {
    it(`${name}, ${text.length.toLocaleString("en")} characters`, () => {
      expect(text.length).toBeLessThanOrEqual(MAX_MARKDOWN_CHARS);
      const { html, ms } = render(text);
      expect(ms).toBeLessThan(BOUND_MS);
      expect(html).not.toMatch(/^<p class="markdown-plain">/);
      // A formula nests inside the markdown around it, within its own bound.
      expect(htmlDepth(html)).toBeLessThanOrEqual(name.startsWith("math:") ? MAX_DEPTH + MAX_MATH_HTML_DEPTH : MAX_DEPTH);
      // Definitions that nothing refers to are not shown, as in any markdown.
      if (!name.includes("flood")) expect(shownLetters(html)).toBeGreaterThanOrEqual(letters(text));
    });
  }
});
