import { useState } from "react";
import { COPY_FEEDBACK_MS, COPY_LABELS, copyToClipboard } from "~/lib/clipboard";
import { CheckIcon, CopyIcon } from "./icons";

/** Copies text to the clipboard and says so (markdown's Copy code buttons say the same). */
export function CopyButton({ text, label = "Copy", icon = false }: { text: string; label?: string; icon?: boolean }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  async function copy() {
    setState((await copyToClipboard(text)) ? "copied" : "failed");
    setTimeout(() => setState("idle"), COPY_FEEDBACK_MS);
  }
  const said = state === "idle" ? label : COPY_LABELS[state];
  // Compact in a message's action row: the icon shows, the words are its name and tooltip.
  if (icon) {
    return (
      <button type="button" className="icon-button" onClick={() => void copy()} aria-label={said} title={said}>
        {state === "copied" ? <CheckIcon /> : <CopyIcon />}
      </button>
    );
  }
  return (
    <button type="button" className="button secondary small copy-button" onClick={() => void copy()} aria-live="polite">
      <span className="copy-sizer" aria-hidden="true">
        {label}
      </span>
      <span>{said}</span>
    </button>
  );
}
