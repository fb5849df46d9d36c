import hljs from "highlight.js/lib/common";

/**
 * Colours a code block in place. highlight.js escapes the code it is given, so the markup it
 * returns holds only its own <span class="hljs-…"> elements, never anything from the message.
 */
export function highlightCode(element: HTMLElement, code: string, language: string) {
  if (!hljs.getLanguage(language)) return;
  element.innerHTML = hljs.highlight(code, { language, ignoreIllegals: true }).value;
  element.classList.add("hljs");
}
