import { describe, expect, it, vi } from "vitest";
import "~/lib/math.server";
import { renderMarkdown } from "~/lib/markdown";
import { htmlDepth } from "../fixtures/crafted-markdown";

/** The TeX of each formula KaTeX rendered (its MathML keeps the source as an annotation). */
const formulas = (html: string) => [...html.matchAll(/<annotation encoding="application\/x-tex">([^<]*)<\/annotation>/g)].map((m) => m[1]);
const displayed = (html: string) => html.match(/class="katex-display"/g)?.length ?? 0;

describe("math in a reply", () => {
  it("renders the four ways models write it", () => {
    const html = renderMarkdown(
      [
        "Inline $e^{i\\pi} + 1 = 0$ and \\(a^2 + b^2 = c^2\\).",
        "",
        "$$",
        "\\int_0^1 x\\,dx = \\frac{1}{2}",
        "$$",
        "",
        "\\[",
        "x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}",
        "\\]",
      ].join("\n"),
    );
    expect(formulas(html)).toEqual([
      "e^{i\\pi} + 1 = 0",
      "a^2 + b^2 = c^2",
      "\\int_0^1 x\\,dx = \\frac{1}{2}",
      "x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}",
    ]);
    expect(displayed(html)).toBe(2);
    expect(html).toContain('<div class="math-block"><span class="katex-display">');
    // MathML beside the drawing, for screen readers.
    expect(html).toContain("<math xmlns=");
  });

  it("displays math written on one line, inside a sentence, a list or a quote, right after a paragraph", () => {
    expect(formulas(renderMarkdown("$$ E = mc^2 $$"))).toEqual(["E = mc^2"]);
    expect(displayed(renderMarkdown("So $$E = mc^2$$ holds."))).toBe(1);
    expect(displayed(renderMarkdown("The formula is:\n$$\nE = mc^2\n$$\nas shown."))).toBe(1);
    expect(formulas(renderMarkdown("- first $x_1$\n- then\n  $$\n  x_2\n  $$"))).toEqual(["x_1", "x_2"]);
    expect(formulas(renderMarkdown("> $$\n> a + b\n> $$"))).toEqual(["a + b"]);
    expect(formulas(renderMarkdown("\\[ a \\]\n\ntext \\[ b \\] text"))).toEqual(["a", "b"]);
  });

  it("leaves prices, escaped dollars and code alone", () => {
    for (const text of [
      "It costs $5 and $10.",
      "Price $20, I paid $30 for it",
      "Between $ 5 and 10 $ a month",
      "From $1,000 to $2,000.",
      "echo $HOME and $ PATH",
    ]) {
      const html = renderMarkdown(text);
      expect(formulas(html), text).toEqual([]);
      expect(html, text).toContain("$");
    }
    expect(renderMarkdown("\\$5 and \\$x\\$")).toBe("<p>$5 and $x$</p>\n");
    expect(renderMarkdown("`$x$` and `\\(y\\)`")).toBe("<p><code>$x$</code> and <code>\\(y\\)</code></p>\n");
    expect(renderMarkdown("```\n$$x$$\n```")).toContain("<code>$$x$$</code>");
    expect(formulas(renderMarkdown("    $$x$$"))).toEqual([]);
    // A backslash escaped is a backslash: `\\(` opens nothing.
    expect(formulas(renderMarkdown("\\\\(x\\\\)"))).toEqual([]);
  });

  it("shows TeX it cannot parse as written, with the reason, and never makes a link or a request", () => {
    const broken = renderMarkdown("bad $\\frac{1$ here");
    expect(broken).toContain('<span class="katex-error" title="ParseError: KaTeX parse error:');
    expect(broken).toContain(">\\frac{1</span> here");
    for (const tex of [
      "\\href{javascript:alert(1)}{x}",
      "\\url{https://example.com}",
      "\\includegraphics{https://example.com/a.png}",
      "\\htmlClass{x}{y}",
    ]) {
      const html = renderMarkdown(`$${tex}$`);
      expect(html, tex).not.toMatch(/<(a|img)\b|href=|src=|class="x"/);
    }
  });

  it("bounds what a formula can do to the page", () => {
    // \rule and spacing are capped at 20em (KaTeX's maxSize).
    const drawn = renderMarkdown("$\\rule{100000em}{100000em}$").split('class="katex-html"')[1];
    expect(drawn).toContain("border-right-width:20em;border-top-width:20em;");
    expect(drawn).not.toMatch(/\d{3,}(\.\d+)?em/);
    // Macro loops stop (maxExpand) and show as an error.
    expect(renderMarkdown("$\\def\\a{\\a}\\a$")).toContain("katex-error");
    // Nested deeper than 20 braces: shown as TeX, without running KaTeX.
    const deep = renderMarkdown(`$${"a^{".repeat(25)}b${"}".repeat(25)}$`);
    expect(deep).toContain('<code class="math-source">');
    expect(htmlDepth(renderMarkdown(`$${"\\left(".repeat(300)}a${"\\right)".repeat(300)}$`))).toBeLessThanOrEqual(202);
    // Longer than 10,000 characters: not math (the dollars are text).
    expect(formulas(renderMarkdown(`$${"x+".repeat(6_000)}x$`))).toEqual([]);
  });

  it("renders at most 1,000 formulas and 30,000 characters of TeX in a message; the rest show as written", () => {
    const many = renderMarkdown("$x_1$ ".repeat(1_200));
    expect(formulas(many)).toHaveLength(1_000);
    expect(many.match(/<code class="math-source">x_1<\/code>/g)).toHaveLength(200);
    const long = renderMarkdown(`$$\n${"a+".repeat(4_999)}a\n$$\n\n`.repeat(4));
    expect(formulas(long)).toHaveLength(3);
  });

  it("before KaTeX has loaded (in the browser), shows the TeX as written, marked to be rendered", async () => {
    vi.resetModules();
    const fresh = await import("~/lib/markdown");
    const { loadMath, mathLoaded } = await import("~/lib/math");
    expect(mathLoaded()).toBe(false);
    expect(fresh.renderMarkdown("a $x^2$ b")).toBe('<p>a <code class="math-pending">x^2</code> b</p>\n');
    expect(fresh.renderMarkdown("$$\nx^2\n$$")).toBe('<div class="math-block"><code class="math-pending math-display">x^2</code></div>\n');
    await loadMath();
    expect(formulas(fresh.renderMarkdown("a $x^2$ b"))).toEqual(["x^2"]);
  });
});
