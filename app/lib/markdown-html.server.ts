import { renderMarkdown } from "./markdown";
import "./math.server";
import { TextCache } from "./text-cache";

/**
 * The HTML of finished messages rendered lately, by their markdown (with it, up to 8 million
 * characters: 8–16 MB). A finished message never changes, and the server renders on the
 * thread that serves everyone. markdown-it made rendering cheap (~0.7 µs a character), yet
 * keeping the HTML still halves a page of long replies: twenty 20 KB replies reopen in
 * 20–22 ms with it, 35–55 ms without (`npm run bench -- --quick`).
 */
const rendered = new TextCache<string>(8_000_000, (html) => html.length);

export function finishedMessageHtml(markdown: string): string {
  return rendered.get(markdown, true, renderMarkdown);
}
