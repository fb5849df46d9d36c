import { useState } from "react";
import { COPY_FEEDBACK_MS, COPY_LABELS, copyToClipboard } from "~/lib/clipboard";

/** Copies text to the clipboard and says so (markdown's Copy code buttons say the same). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  async function copy() {
    setState((await copyToClipboard(text)) ? "copied" : "failed");
    setTimeout(() => setState("idle"), COPY_FEEDBACK_MS);
  }
  return (
    <button type="button" className="button secondary small" onClick={copy} aria-live="polite">
      {state === "idle" ? label : COPY_LABELS[state]}
    </button>
  );
}
