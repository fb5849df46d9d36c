import { useEffect, useRef, type FormEvent, type KeyboardEvent } from "react";
import { useHydrated } from "~/lib/use-hydrated";
import { LIMITS } from "../../client/limits";

interface ComposerProps {
  draft: string;
  onDraftChange: (draft: string) => void;
  onSend: () => void;
  onStop: () => void;
  /** A reply is being written: Send becomes Stop. */
  generating: boolean;
  sending: boolean;
  error: string | null;
  /** Without JavaScript the form posts to the page's action instead. */
  action?: string;
}

const MAX_HEIGHT_PX = 240;

export function Composer({ draft, onDraftChange, onSend, onStop, generating, sending, error, action }: ComposerProps) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const hydrated = useHydrated();

  // Grow with the text up to a limit, then scroll.
  useEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [draft]);

  const canSend = draft.trim() !== "" && !generating && !sending;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (canSend) onSend();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter makes a new line; never mid-composition (Japanese, Chinese input).
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      if (canSend) onSend();
    }
  }

  return (
    <form className="composer" method="post" action={action} onSubmit={submit}>
      {error ? (
        <p className="form-error composer-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="composer-box">
        <label htmlFor="composer-input" className="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={textarea}
          name="content"
          rows={1}
          placeholder="Message TeamGPT"
          aria-describedby="composer-hint"
          value={draft}
          onChange={(event) => onDraftChange(event.target.value)}
          onKeyDown={onKeyDown}
          maxLength={LIMITS.messageChars}
          autoFocus
        />
        {generating ? (
          <button type="button" className="button danger composer-button" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="button primary composer-button" disabled={hydrated && !canSend}>
            {sending ? "Sending…" : "Send"}
          </button>
        )}
      </div>
      <p id="composer-hint" className="composer-hint">
        Enter to send · Shift+Enter for a new line
      </p>
    </form>
  );
}
