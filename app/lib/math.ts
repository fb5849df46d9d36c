import type { KatexOptions } from "katex";

/**
 * TeX to HTML with KaTeX, for the math in markdown (markdown-math.ts).
 *
 * KaTeX is 270 KB of script, twice the rest of a conversation page's own, and most replies
 * have no math: the browser loads it the first time a page or a streaming reply has some
 * (entry.client.tsx before hydrating, useMath after), and until then shows the TeX as written.
 * The server always has it (math.server.ts), so saved replies arrive rendered.
 */

type RenderToString = (tex: string, options: KatexOptions) => string;

const OPTIONS: KatexOptions = {
  // A formula KaTeX cannot parse shows its source in red with the reason as a tooltip.
  throwOnError: false,
  // Models write "convenient" TeX (Unicode, \\ in inline math) that LaTeX would refuse; no console noise.
  strict: "ignore",
  // No \href, \url, \includegraphics, \htmlClass …: a reply never makes a link or a request this way.
  trust: false,
  // \rule{1000em}{1000em} or \kern cannot cover the page; \def loops stop (KaTeX's default, said here).
  maxSize: 20,
  maxExpand: 1000,
  // MathML beside the HTML, for screen readers.
  output: "htmlAndMathml",
};

/**
 * Longer formulas are shown as code: KaTeX takes ~1 µs a character on ordinary TeX and more on
 * crafted input (bench/markdown.ts); a long derivation or a 20×20 matrix is 2,000–4,000.
 */
export const MAX_TEX_CHARS = 10_000;

/**
 * A formula nested deeper than this in HTML is shown as code: KaTeX writes ~7 elements per
 * level of `\frac` or `^{}`, so a 20-deep continued fraction is ~150, and crafted TeX within
 * MAX_TEX_CHARS could nest 1,400 deep.
 */
export const MAX_MATH_HTML_DEPTH = 200;
/** Checked before rendering, so deep TeX costs no KaTeX time: 20 braces deep is ~150 in HTML. */
const MAX_BRACE_DEPTH = 20;

let katex: RenderToString | null = null;
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

export function provideKatex(renderToString: RenderToString) {
  katex = renderToString;
  for (const listener of listeners) listener();
}

/** Loads KaTeX in the browser (once); resolves when formulas render. */
export function loadMath(): Promise<void> {
  loading ??= import("katex").then(
    ({ renderToString }) => provideKatex(renderToString),
    (error: unknown) => {
      // A failed download (offline, a new deploy) is tried again by the next formula.
      loading = null;
      throw error;
    },
  );
  return loading;
}

export function mathLoaded(): boolean {
  return katex !== null;
}

export function onMathLoaded(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The class of a formula shown as written because KaTeX is not loaded yet. */
export const MATH_PENDING_CLASS = "math-pending";

export function renderTex(tex: string, display: boolean, escapeHtml: (text: string) => string): string {
  const source = escapeHtml(tex);
  if (tex.length > MAX_TEX_CHARS || braceDepth(tex) > MAX_BRACE_DEPTH) return `<code class="math-source">${source}</code>`;
  if (!katex) return `<code class="${MATH_PENDING_CLASS}${display ? " math-display" : ""}">${source}</code>`;
  try {
    const html = katex(tex, { ...OPTIONS, displayMode: display });
    if (htmlDepth(html) <= MAX_MATH_HTML_DEPTH) return html;
  } catch {
    // throwOnError is off: only a bug or a stack too deep for KaTeX's parser gets here.
  }
  return `<code class="math-source">${source}</code>`;
}

function braceDepth(tex: string): number {
  let depth = 0;
  let deepest = 0;
  for (let at = 0; at < tex.length; at++) {
    const char = tex.charCodeAt(at);
    if (char === 0x5c)
      at++; // \{ and \} are braces shown, not groups
    else if (char === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x7d) depth--;
  }
  return deepest;
}

/** How deep KaTeX's elements nest (its HTML has no comments, and its void tags end in `/>`). */
function htmlDepth(html: string): number {
  let depth = 0;
  let deepest = 0;
  for (let at = html.indexOf("<"); at !== -1; at = html.indexOf("<", at + 1)) {
    if (html.charCodeAt(at + 1) === 0x2f) depth--;
    else if (html.charCodeAt(html.indexOf(">", at) - 1) !== 0x2f) deepest = Math.max(deepest, ++depth);
  }
  return deepest;
}
