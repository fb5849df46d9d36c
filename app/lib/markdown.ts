import MarkdownIt, { type Env, type RendererRule, type StateBlock, type StateCore, type Token } from "markdown-it";
import footnote from "markdown-it-footnote";
import { mathPlugin } from "./markdown-math";

/**
 * Markdown to HTML, the same string on the server and in the browser (so a saved reply's
 * server-rendered HTML hydrates unchanged), in time and depth bounded for any input.
 *
 * markdown-it is linear on the inputs that made micromark (react-markdown) take seconds to
 * minutes or overflow the stack (issue #12: `*a` × 50,000 took 98 s), with three gaps closed
 * here: past `maxNesting` it drops the rest of a block's lines (kept here as plain text),
 * emphasis and links nest without bound (capped here), and markdown-it-footnote gathers its
 * footnotes in quadratic time (replaced here). bench/markdown.ts measures the crafted inputs.
 */

/**
 * Longer text is shown as plain text, never parsed: rendering takes up to ~4 µs a character
 * on crafted input (0.7 µs on an ordinary answer), and the server renders on the thread that
 * serves everyone: at most ~0.6 s here (bench/markdown.ts). 150,000 characters is ~37,000
 * tokens, past the longest answers models write by default.
 */
export const MAX_MARKDOWN_CHARS = 150_000;

/** Blocks nested deeper (quotes, lists) show their remaining lines as plain text. */
const MAX_BLOCK_NESTING = 20;
/** Emphasis, strikethrough and links nested deeper show their markers as text. */
const MAX_INLINE_NESTING = 10;

const md = new MarkdownIt({ html: false, linkify: true, maxNesting: MAX_BLOCK_NESTING });
md.use(footnote);
md.use(mathPlugin);
const { escapeHtml, unescapeAll } = md.utils;

/**
 * Addresses without a scheme become links only when they start with `www.`, as in GitHub's
 * markdown: any other name with a country's domain would too (`setup.py`, `README.md`).
 */
md.linkify.set({ fuzzyLink: true });
const matchLinks = md.linkify.match.bind(md.linkify);
md.linkify.match = (text) => matchLinks(text)?.filter((link) => link.schema !== "" || /^www\./i.test(link.raw)) ?? null;

export function renderMarkdown(text: string): string {
  if (text.length > MAX_MARKDOWN_CHARS) return plainText(text);
  try {
    return md.render(text, footnoteIds(text));
  } catch {
    // A bug in a rule must not make a conversation unreadable: show the text as it is.
    return plainText(text);
  }
}

function plainText(text: string): string {
  return `<p class="markdown-plain">${escapeHtml(text)}</p>\n`;
}

/**
 * Footnote ids carry a hash of the text: every reply numbers its footnotes from 1, and a
 * page shows many replies, so `#fn1` alone would jump to another reply's note.
 */
function footnoteIds(text: string): Env {
  if (!text.includes("[^") && !text.includes("^[")) return {};
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return { docId: (hash >>> 0).toString(36) };
}

// ---- Links, images, code ----

// ~~struck~~ is a deletion, as GitHub shows it (markdown-it writes <s>).
md.renderer.rules.s_open = () => "<del>";
md.renderer.rules.s_close = () => "</del>";

md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  const token = tokens[idx]!;
  token.attrSet("target", "_blank");
  token.attrSet("rel", "noopener noreferrer nofollow");
  return self.renderToken(tokens, idx, options);
};

/**
 * Images are not loaded until asked (loading one tells its host that the conversation was
 * opened): a button stands in, and a click (markdown-interactions.ts) swaps in the image.
 * Only web addresses become images; a relative one would be fetched from this server.
 */
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const src = String(token.attrGet("src") ?? "");
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  const described = alt ? ` “${escapeHtml(alt)}”` : "";
  const url = webUrl(src);
  if (!url) return `<span class="image-placeholder">Image${described} (not a web address, not shown)</span>`;
  return (
    `<button type="button" class="image-placeholder" data-image-src="${escapeHtml(src)}" data-image-alt="${escapeHtml(alt)}">` +
    `Image${described} from ${escapeHtml(url.host)} — load it</button>`
  );
};

export function webUrl(src: string): URL | null {
  try {
    const url = new URL(src);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

const fence: RendererRule = (tokens, idx) => {
  const token = tokens[idx]!;
  const info = token.info ? unescapeAll(token.info).trim() : "";
  return codeBlock(token.content, info.split(/\s/, 1)[0] ?? "");
};
md.renderer.rules.fence = fence;
md.renderer.rules.code_block = fence;

export const COPY_CODE_LABEL = "Copy code";

/** The toolbar's Copy code button works through markdown-interactions.ts. */
function codeBlock(content: string, infoWord: string): string {
  const language = /^[\w+#-]{1,32}$/.test(infoWord) ? escapeHtml(infoWord) : null;
  const label = language ? `<span class="code-language">${language}</span>` : "";
  const className = language ? ` class="language-${language}"` : "";
  return (
    `<div class="code-block"><div class="code-toolbar">${label}` +
    `<button type="button" class="button secondary small" data-copy-code="" aria-live="polite">${COPY_CODE_LABEL}</button></div>` +
    `<pre><code${className}>${escapeHtml(content.replace(/\n$/, ""))}</code></pre></div>\n`
  );
}

// ---- Task lists: `- [ ] todo`, `- [x] done`, shown as disabled checkboxes ----

const TASK_MARKER = /^\[([ xX])\][ \t]/;

md.core.ruler.after("inline", "task_lists", (state: StateCore) => {
  // The lists open around each token, innermost last: looking back for an item's list
  // instead made a list of 10,000 tasks quadratic.
  const lists: Token[] = [];
  const tokens = state.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type === "bullet_list_open" || token.type === "ordered_list_open") lists.push(token);
    else if (token.type === "bullet_list_close" || token.type === "ordered_list_close") lists.pop();
    else if (token.type === "inline" && i >= 2 && tokens[i - 1]!.type === "paragraph_open" && tokens[i - 2]!.type === "list_item_open") {
      const first = token.children?.[0];
      const marker = first?.type === "text" ? TASK_MARKER.exec(first.content) : null;
      if (!first || !marker) continue;
      first.content = first.content.slice(marker[0].length);
      const checkbox = new state.Token("task_checkbox", "input", 0);
      checkbox.meta = { checked: marker[1] !== " " };
      token.children!.unshift(checkbox);
      tokens[i - 2]!.attrJoin("class", "task-list-item");
      const list = lists.at(-1);
      if (list && list.attrGet("class") === null) list.attrSet("class", "contains-task-list");
    }
  }
});

md.renderer.rules.task_checkbox = (tokens, idx) => `<input type="checkbox" disabled=""${tokens[idx]!.meta?.checked ? ` checked=""` : ""}> `;

// ---- Bounds ----

/**
 * Past maxNesting markdown-it skips the rest of the lines it was given, silently: they are
 * kept here as one plain-text paragraph (their deeper markers shown as typed).
 */
const tokenizeBlocks = md.block.tokenize.bind(md.block);
md.block.tokenize = (state: StateBlock, startLine: number, endLine: number) => {
  if (state.level < MAX_BLOCK_NESTING) return tokenizeBlocks(state, startLine, endLine);
  const first = state.skipEmptyLines(startLine);
  // Lines indented less than this container's content belong to the containers around it.
  let end = first;
  while (end < endLine && (state.isEmpty(end) || state.sCount[end]! >= state.blkIndent)) end++;
  if (end === first) return tokenizeBlocks(state, startLine, endLine);
  const plain = state.push("plain_text", "p", 0);
  plain.map = [first, end];
  plain.content = state.getLines(first, end, state.blkIndent, false).replace(/\n+$/, "");
  state.line = end;
};
md.renderer.rules.plain_text = (tokens, idx) => plainText(tokens[idx]!.content);

/**
 * Emphasis (`*a *a *a …`), strikethrough and links can nest as deep as the text is long;
 * deeper than MAX_INLINE_NESTING their markers stay text, so the page's depth stays bounded.
 */
md.core.ruler.push("inline_nesting", (state: StateCore) => {
  for (const token of state.tokens) if (token.type === "inline" && token.children) flattenDeepInline(token.children);
});

function flattenDeepInline(children: Token[]) {
  // For each span open here: the text its closing token becomes, or null if it stays a span.
  const closers: (string | null)[] = [];
  let depth = 0;
  for (const token of children) {
    if (token.nesting === 1) {
      if (depth < MAX_INLINE_NESTING) {
        depth++;
        closers.push(null);
      } else {
        const { open, close } = markers(token);
        asText(token, open);
        closers.push(close);
      }
    } else if (token.nesting === -1) {
      const close = closers.pop();
      if (close === null) depth--;
      else if (close !== undefined) asText(token, close);
    }
  }
}

/** What the writer typed around a span: `**` for strong, `[` and `](url)` for a link. */
function markers(open: Token): { open: string; close: string } {
  if (open.type !== "link_open") return { open: open.markup, close: open.markup };
  if (open.markup === "autolink") return { open: "<", close: ">" };
  if (open.markup === "linkify") return { open: "", close: "" };
  return { open: "[", close: `](${String(open.attrGet("href") ?? "")})` };
}

function asText(token: Token, content: string) {
  token.type = "text";
  token.tag = "";
  token.nesting = 0;
  token.attrs = null;
  token.content = content;
}

// ---- Footnotes, gathered in linear time ----

interface FootnoteEnv {
  list?: { label?: string; count?: number; content?: string; tokens?: Token[] }[];
}

/**
 * markdown-it-footnote's own tail concatenates the whole token list once per footnote:
 * 20,000 inline notes (120,000 characters) took 95 s. Same tokens, same order, appended.
 */
md.core.ruler.at("footnote_tail", (state: StateCore) => {
  const footnotes = state.env.footnotes as FootnoteEnv | undefined;
  if (!footnotes) return;
  const definitions = new Map<string, Token[]>();
  const kept: Token[] = [];
  let definition: Token[] | null = null;
  for (const token of state.tokens) {
    if (token.type === "footnote_reference_open") {
      definition = [];
      definitions.set(String(token.meta?.label), definition);
    } else if (token.type === "footnote_reference_close") definition = null;
    else (definition ?? kept).push(token);
  }
  state.tokens = kept;
  if (!footnotes.list) return;

  kept.push(new state.Token("footnote_block_open", "", 1));
  footnotes.list.forEach((note, id) => {
    const open = new state.Token("footnote_open", "", 1);
    open.meta = { id, label: note.label };
    kept.push(open);
    if (note.tokens) {
      const paragraph = new state.Token("paragraph_open", "p", 1);
      paragraph.block = true;
      const inline = new state.Token("inline", "", 0);
      inline.children = note.tokens;
      inline.content = note.content ?? "";
      const close = new state.Token("paragraph_close", "p", -1);
      close.block = true;
      kept.push(paragraph, inline, close);
    } else if (note.label !== undefined) {
      for (const token of definitions.get(note.label) ?? []) kept.push(token);
    }
    // The back-references go inside the note's last paragraph, as the plugin places them.
    const lastParagraph = kept.at(-1)?.type === "paragraph_close" ? kept.pop() : undefined;
    for (let subId = 0; subId < Math.max(note.count ?? 0, 1); subId++) {
      const anchor = new state.Token("footnote_anchor", "", 0);
      anchor.meta = { id, subId, label: note.label };
      kept.push(anchor);
    }
    if (lastParagraph) kept.push(lastParagraph);
    kept.push(new state.Token("footnote_close", "", -1));
  });
  kept.push(new state.Token("footnote_block_close", "", -1));
});
