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
  /** Compare: the models a message may go to at once (offered with two or more). */
  compare?: CompareChoice;
}

export interface CompareChoice {
  models: { id: string; label: string }[];
  /** The models the next message goes to; null: Compare is off (one reply, as usual). */
  chosen: string[] | null;
  onChange: (chosen: string[] | null) => void;
  /** Chosen first when Compare is turned on: the conversation's model. */
  current: string;
}

const MAX_HEIGHT_PX = 240;

export function Composer({ draft, onDraftChange, onSend, onStop, generating, sending, error, action, compare }: ComposerProps) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const hydrated = useHydrated();
  // Stop, focused, turns into Send when the reply ends: focus goes to the text, not the page.
  const stopFocused = useRef(false);
  useEffect(() => {
    if (generating || !stopFocused.current) return;
    stopFocused.current = false;
    textarea.current?.focus();
  }, [generating]);

  // Grow with the text up to a limit, then scroll.
  useEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [draft]);

  const comparing = compare?.chosen ?? null;
  const canSend = draft.trim() !== "" && !generating && !sending && (comparing === null || comparing.length >= 2);

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
          <button
            type="button"
            className="button danger composer-button"
            onClick={onStop}
            onFocus={() => (stopFocused.current = true)}
            onBlur={() => (stopFocused.current = false)}
          >
            Stop
          </button>
        ) : (
          <button type="submit" className="button primary composer-button" disabled={hydrated && !canSend}>
            {sending ? "Sending…" : comparing ? "Compare" : "Send"}
          </button>
        )}
      </div>
      {compare && comparing ? <CompareModels compare={compare} chosen={comparing} /> : null}
      <div className="composer-footer">
        <p id="composer-hint" className="composer-hint">
          Enter to send · Shift+Enter for a new line
        </p>
        {hydrated && compare && compare.models.length >= 2 ? (
          <button
            type="button"
            className="composer-compare"
            aria-pressed={comparing !== null}
            onClick={() => compare.onChange(comparing ? null : firstChoice(compare))}
          >
            Compare models
          </button>
        ) : null}
      </div>
    </form>
  );
}

/** The models a compared message goes to: two or three, picked by checkbox. */
function CompareModels({ compare, chosen }: { compare: CompareChoice; chosen: string[] }) {
  const full = chosen.length >= LIMITS.comparedModels;
  return (
    <fieldset className="compare-models">
      <legend>Send to 2–{LIMITS.comparedModels} models; each writes its own reply</legend>
      {compare.models.map((model) => {
        const checked = chosen.includes(model.id);
        return (
          <label key={model.id} className="compare-model">
            <input
              type="checkbox"
              checked={checked}
              disabled={!checked && full}
              onChange={() => compare.onChange(checked ? chosen.filter((id) => id !== model.id) : [...chosen, model.id])}
            />
            {model.label}
          </label>
        );
      })}
      <p className="compare-note" role="status">
        {chosen.length < 2 ? "Pick at least two." : ""}
      </p>
    </fieldset>
  );
}

/** Compare turned on: the conversation's model and the next one offered. */
function firstChoice({ models, current }: CompareChoice): string[] {
  const first = models.some((model) => model.id === current) ? current : models[0]!.id;
  const other = models.find((model) => model.id !== first);
  return other ? [first, other.id] : [first];
}
