/** What a copy button says after a click, for a moment (then its own label again). */
export const COPY_LABELS = { copied: "Copied", failed: "Copy failed: select and copy" } as const;

export const COPY_FEEDBACK_MS = 2000;

/** False when the browser refuses (no permission, or a page not served over HTTPS). */
export async function copyToClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
