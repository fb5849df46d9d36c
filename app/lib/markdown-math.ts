import type { Env, MarkdownIt, StateBlock, StateInline } from "markdown-it";
import { MAX_TEX_CHARS, renderTex } from "./math";

/**
 * Math in markdown, the four ways models write it: `$…$` and `\(…\)` inline, `$$…$$` and
 * `\[…\]` displayed (on lines of their own, or inside a sentence). Rendered by KaTeX (math.ts).
 *
 * Written here rather than taken from a plugin: the maintained ones pin markdown-it 14 or
 * KaTeX 0.16, and none reads all four delimiters with the rules prices need. A dollar opens
 * math only when followed by a non-space and closes only after a non-space and before a
 * non-digit (Pandoc's rule), so "$5 and $10" stays text; `\$` is a dollar sign. Code spans and
 * blocks keep their dollars. Every search for a closing delimiter is bounded (see firstCloser),
 * so text full of lone dollars stays linear.
 */
export function mathPlugin(md: MarkdownIt) {
  const { escapeHtml } = md.utils;
  md.inline.ruler.before("escape", "math_bracket", bracketMath);
  md.inline.ruler.after("escape", "math_dollar", dollarMath);
  md.block.ruler.before("fence", "math_block", mathBlock, { alt: ["paragraph", "reference", "blockquote", "list"] });
  const formula = (tex: string, display: boolean, env: Env | undefined) =>
    withinBudget(env, tex) ? renderTex(tex, display, escapeHtml) : `<code class="math-source">${escapeHtml(tex)}</code>`;
  md.renderer.rules.math_inline = (tokens, idx, _options, env) => formula(tokens[idx]!.content, false, env);
  md.renderer.rules.math_display = (tokens, idx, _options, env) => formula(tokens[idx]!.content, true, env);
  md.renderer.rules.math_block = (tokens, idx, _options, env) =>
    `<div class="math-block">${formula(tokens[idx]!.content, true, env)}</div>\n`;
}

/** Per render (markdown-it's env is made afresh for each): the budget is per message. */
const budgets = new WeakMap<Env, { formulas: number; chars: number }>();

function withinBudget(env: Env | undefined, tex: string): boolean {
  if (!env) return true;
  let budget = budgets.get(env);
  if (!budget) budgets.set(env, (budget = { formulas: MAX_FORMULAS, chars: MAX_TEX_TOTAL }));
  if (budget.formulas === 0 || budget.chars < tex.length) return false;
  budget.formulas--;
  budget.chars -= tex.length;
  return true;
}

const DOLLAR = 0x24;
const BACKSLASH = 0x5c;

/**
 * A block of display math spans at most this many lines (each line that opens one is searched
 * this far: 200 took 0.5 s on 150,000 characters of `\\[a` lines). A longer one still renders
 * inside its paragraph, by the inline rule.
 */
const MAX_BLOCK_LINES = 40;

/**
 * A message renders at most this many formulas and characters of TeX; the rest show as
 * written. KaTeX writes ~1 KB of HTML for `$x_1$` in ~55 µs: 150,000 characters of `$x_1$ `
 * took 1.4 s and made 24 MB of HTML (bench/markdown.ts). A long, math-heavy answer has 100–300.
 */
const MAX_FORMULAS = 1_000;
const MAX_TEX_TOTAL = 30_000;

// ---- Inline: $…$, $$…$$, \(…\), \[…\] ----

function dollarMath(state: StateInline, silent: boolean): boolean {
  const { src, pos } = state;
  if (src.charCodeAt(pos) !== DOLLAR) return false;
  const display = src.charCodeAt(pos + 1) === DOLLAR;
  const width = display ? 2 : 1;
  const from = pos + width;
  if (!display && !opensInlineDollar(src, from)) return false;
  const close = display
    ? firstCloser(state, "$$", from, (at) => src.indexOf("$$", at))
    : firstCloser(state, "$", from, (at) => nextClosingDollar(src, at));
  if (!isMath(state, from, close, width)) {
    if (!display) return false;
    // "$$" that opens nothing is text: its second "$" must not open inline math.
    if (!silent) state.pending += "$$";
    state.pos += 2;
    return true;
  }
  if (!silent) pushInlineMath(state, display, src.slice(from, close), display ? "$$" : "$");
  state.pos = close + width;
  return true;
}

function bracketMath(state: StateInline, silent: boolean): boolean {
  const { src, pos } = state;
  if (src.charCodeAt(pos) !== BACKSLASH) return false;
  const kind = src[pos + 1];
  if (kind !== "(" && kind !== "[") return false;
  const closer = kind === "(" ? "\\)" : "\\]";
  const from = pos + 2;
  const close = firstCloser(state, closer, from, (at) => src.indexOf(closer, at));
  if (!isMath(state, from, close, 2)) return false;
  if (!silent) pushInlineMath(state, kind === "[", src.slice(from, close), `\\${kind}`);
  state.pos = close + 2;
  return true;
}

function pushInlineMath(state: StateInline, display: boolean, content: string, markup: string) {
  const token = state.push(display ? "math_display" : "math_inline", "math", 0);
  token.content = content.trim();
  token.markup = markup;
}

/** A closer was found, inside what is being parsed (a link's text ends early), around some TeX. */
function isMath(state: StateInline, from: number, close: number, width: number): boolean {
  return close !== -1 && close + width <= state.posMax && close - from <= MAX_TEX_CHARS && state.src.slice(from, close).trim() !== "";
}

function opensInlineDollar(src: string, from: number): boolean {
  const next = src.charCodeAt(from);
  return !Number.isNaN(next) && !isSpace(next);
}

function nextClosingDollar(src: string, from: number): number {
  for (let at = src.indexOf("$", from); at !== -1; at = src.indexOf("$", at + 1)) {
    const before = src.charCodeAt(at - 1);
    const after = src.charCodeAt(at + 1);
    if (!isSpace(before) && before !== BACKSLASH && !(after >= 0x30 && after <= 0x39)) return at;
  }
  return -1;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0xa0;
}

/**
 * The first closing delimiter at or after `from`, remembered per inline text: a later opener
 * before that closer finds the same one without searching, and after a failed search none
 * does. Each search then covers text no earlier search did, so "$a $b $c …" (every dollar an
 * opener, none a closer) is linear, not quadratic.
 */
const closerCache = new WeakMap<StateInline, Map<string, { from: number; at: number }>>();

function firstCloser(state: StateInline, closer: string, from: number, find: (from: number) => number): number {
  let cache = closerCache.get(state);
  if (!cache) closerCache.set(state, (cache = new Map<string, { from: number; at: number }>()));
  const known = cache.get(closer);
  if (known && known.from <= from && (known.at === -1 || known.at >= from)) return known.at;
  const at = find(from);
  cache.set(closer, { from, at });
  return at;
}

// ---- Blocks: $$ … $$ and \[ … \] on lines of their own ----

const BLOCK_DELIMITERS = [
  { open: "$$", close: "$$" },
  { open: "\\[", close: "\\]" },
] as const;

function mathBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  // Indented four spaces it is a code block.
  if (state.sCount[startLine]! - state.blkIndent >= 4) return false;
  const first = lineText(state, startLine);
  const delimiter = BLOCK_DELIMITERS.find(({ open }) => first.startsWith(open));
  if (!delimiter) return false;

  const lines: string[] = [];
  let text = first.slice(delimiter.open.length);
  let line = startLine;
  for (;;) {
    const close = text.indexOf(delimiter.close);
    if (close !== -1) {
      // Text after the closer makes it a sentence with math in it, left to the inline rules.
      if (text.slice(close + delimiter.close.length).trim() !== "") return false;
      lines.push(text.slice(0, close));
      break;
    }
    lines.push(text);
    line++;
    // TeX has no blank lines in math, and a block does not leave its list or quote.
    if (line >= endLine || line - startLine > MAX_BLOCK_LINES || state.isEmpty(line) || state.sCount[line]! < state.blkIndent) return false;
    text = lineText(state, line);
  }
  const content = lines.join("\n").trim();
  if (content === "") return false;
  if (silent) return true;
  const token = state.push("math_block", "math", 0);
  token.block = true;
  token.content = content;
  token.markup = delimiter.open;
  token.map = [startLine, line + 1];
  state.line = line + 1;
  return true;
}

function lineText(state: StateBlock, line: number): string {
  return state.src.slice(state.bMarks[line]! + state.tShift[line]!, state.eMarks[line]);
}
