/** What a copy button says after a click, for a moment (then its own label again). */
export const COPY_LABELS = { copied: "Copied", failed: "Copy failed" } as const;

export const COPY_FEEDBACK_MS = 2000;

/**
 * False when the browser refuses. The Clipboard API exists only on secure pages (https, or
 * localhost): on a plain-http LAN install the older copy command still works, so it is tried
 * next.
 */
export async function copyToClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return copyWithSelection(text);
  }
}

function copyWithSelection(text: string): boolean {
  const field = document.createElement("textarea");
  field.value = text;
  field.setAttribute("readonly", "");
  field.style.position = "fixed";
  field.style.opacity = "0";
  document.body.append(field);
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  field.select();
  try {
    // Deprecated, but the only copy a page without a secure origin has.
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    field.remove();
    focused?.focus();
  }
}
