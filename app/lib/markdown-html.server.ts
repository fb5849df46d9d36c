import { renderMarkdown } from "./markdown";
import { TextCache } from "./text-cache";

/**
 * The HTML of finished messages rendered lately, by their markdown (with it, up to 8 million
 * characters: 8–16 MB). A finished message never changes, and the server renders on the
 * thread that serves every request.
 */
const rendered = new TextCache<string>(8_000_000, (html) => html.length);

export function finishedMessageHtml(markdown: string): string {
  return rendered.get(markdown, true, renderMarkdown);
}
