import type { MouseEvent } from "react";
import { COPY_FEEDBACK_MS, COPY_LABELS, copyToClipboard } from "./clipboard";
import { COPY_CODE_LABEL, webUrl } from "./markdown";

/**
 * What the buttons in rendered markdown (app/lib/markdown.ts) do. The markdown is an HTML
 * string, so one listener on its container serves every button in it, whenever it was
 * rendered (by the server, while streaming, after), and no inline handler is needed (the CSP
 * allows none). Nothing here runs on the server.
 */
export function onMarkdownClick(event: MouseEvent<HTMLElement>) {
  const button = event.target instanceof Element ? event.target.closest("button") : null;
  if (!button || !event.currentTarget.contains(button)) return;
  if (button.hasAttribute("data-copy-code")) {
    void copyCode(button);
  } else if (button.hasAttribute("data-image-src")) {
    // A placeholder inside a link loads the image rather than following the link.
    event.preventDefault();
    loadImage(button);
  }
}

const feedbackTimers = new WeakMap<HTMLButtonElement, ReturnType<typeof setTimeout>>();

async function copyCode(button: HTMLButtonElement) {
  const code = button.closest(".code-block")?.querySelector("pre code")?.textContent ?? "";
  button.textContent = (await copyToClipboard(code)) ? COPY_LABELS.copied : COPY_LABELS.failed;
  clearTimeout(feedbackTimers.get(button));
  const restore = setTimeout(() => {
    button.textContent = COPY_CODE_LABEL;
  }, COPY_FEEDBACK_MS);
  feedbackTimers.set(button, restore);
}

function loadImage(button: HTMLButtonElement) {
  const src = button.getAttribute("data-image-src") ?? "";
  // Checked again: the attribute is only ever written by the renderer, but an image must
  // never be requested from anything but a web address.
  if (!webUrl(src)) return;
  const image = document.createElement("img");
  image.src = src;
  image.alt = button.getAttribute("data-image-alt") ?? "";
  image.referrerPolicy = "no-referrer";
  image.loading = "lazy";
  image.setAttribute("data-image-src", src);
  button.replaceWith(image);
}

/**
 * Highlighting costs several times more than rendering the rest of a message, so code is
 * coloured only once it scrolls into view, and never past this size: highlight.js on a huge
 * block would freeze the tab.
 */
const MAX_HIGHLIGHT_CHARS = 20_000;

let observer: IntersectionObserver | null = null;

function codeObserver(): IntersectionObserver {
  observer ??= new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer?.unobserve(entry.target);
      void highlight(entry.target as HTMLElement);
    }
  });
  return observer;
}

async function highlight(code: HTMLElement) {
  const language = /\blanguage-([\w+#-]+)/.exec(code.className)?.[1];
  if (!language) return;
  const { highlightCode } = await import("~/lib/highlight.client");
  if (code.isConnected && !code.classList.contains("hljs")) highlightCode(code, code.textContent ?? "", language);
}

/** Watches `container`'s code blocks until they are in view; returns what stops watching. */
export function highlightCodeBlocksInView(container: HTMLElement): () => void {
  const blocks = Array.from(container.querySelectorAll<HTMLElement>("pre > code[class*='language-']")).filter(
    (code) => !code.classList.contains("hljs") && (code.textContent?.length ?? 0) <= MAX_HIGHLIGHT_CHARS,
  );
  if (blocks.length === 0) return () => {};
  const watcher = codeObserver();
  for (const code of blocks) watcher.observe(code);
  return () => {
    for (const code of blocks) watcher.unobserve(code);
  };
}
