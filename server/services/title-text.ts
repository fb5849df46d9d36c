import { INVISIBLE_FORMATTING, MAX_AUTO_TITLE_CHARS } from "./conversations";

/**
 * A model's answer made a sidebar title: its first line, without the markdown, quotes,
 * "Title:" and full stop models add anyway, shortened like a first message's title. Null when
 * nothing is left.
 */
export function cleanTitle(text: string): string | null {
  const line = text
    .replace(INVISIBLE_FORMATTING, "")
    .split("\n")
    .map((part) => part.trim())
    .find((part) => part !== "");
  if (!line) return null;
  const wrapping = /^[*_"'“”‘’«»`\s]+|[*_"'“”‘’«»`\s]+$/gu;
  const title = line
    .replace(/^#+\s*/, "")
    .replace(/^\**\s*title\s*:\s*\**/i, "")
    .replace(wrapping, "")
    // A full stop inside the quotes or outside them.
    .replace(/[.。!！]+$/u, "")
    .replace(wrapping, "")
    .replace(/[.。!！]+$/u, "")
    .replace(/\s+/g, " ")
    .trim();
  if (!title) return null;
  return title.length > MAX_AUTO_TITLE_CHARS ? `${title.slice(0, MAX_AUTO_TITLE_CHARS - 3).trimEnd()}…` : title;
}
