import type { ReactElement } from "react";
import { renderToString } from "react-dom/server";
import { TextCache } from "./text-cache";

/**
 * The HTML of finished messages rendered lately, by their markdown. Parsing markdown is most of
 * a page's server time (micromark: about 2 µs a character; a page of twenty 20 KB replies took
 * 1.5 s, on every load, with no other request or reply served meanwhile), and a finished
 * message never changes. HTML is kept (with its markdown, up to 8 million characters: 8–16 MB),
 * not element trees: those took ~120 bytes of memory a character of markdown, this about 4.
 *
 * renderToString writes the same markup the page's own render would (text separators
 * included), so the browser hydrates the message's components onto it as usual.
 */
const rendered = new TextCache<string>(8_000_000, (html) => html.length);

export function finishedMessageHtml(markdown: string, elements: (markdown: string) => ReactElement): string {
  return rendered.get(markdown, true, (text) => renderToString(elements(text)));
}
