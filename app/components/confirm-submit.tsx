import { useEffect, useId, useRef, useState, type ReactNode } from "react";

interface ConfirmSubmitProps {
  /** The button's text, and its accessible name (which says what it acts on). */
  children: ReactNode;
  label: string;
  /** What is asked in place of the button: "Revoke hr-key-0002?" */
  question: string;
  /** The button that does it: "Yes, revoke". */
  confirmLabel: string;
  name?: string;
  value?: string;
}

/**
 * A destructive submit button that asks first, in place: the one confirmation style of the
 * app (the sidebar's delete asks the same way), never window.confirm, which blocks the page
 * and cannot be styled or read well by screen readers. Escape or Cancel takes it back.
 * Without JavaScript the first press submits: the server still checks everything.
 */
export function ConfirmSubmit({ children, label, question, confirmLabel, name, value }: ConfirmSubmitProps) {
  const [asking, setAsking] = useState(false);
  const ask = useRef<HTMLButtonElement>(null);
  const answered = useRef(false);

  // Taken back, the question gives focus back to the button that asked it.
  useEffect(() => {
    if (!asking && answered.current) ask.current?.focus();
  }, [asking]);

  if (!asking) {
    return (
      <button
        type="submit"
        name={name}
        value={value}
        ref={ask}
        className="button danger small"
        aria-label={label}
        onClick={(event) => {
          event.preventDefault();
          setAsking(true);
        }}
      >
        {children}
      </button>
    );
  }
  const cancel = () => {
    answered.current = true;
    setAsking(false);
  };
  return (
    <ConfirmInline
      question={question}
      confirm={
        <button type="submit" name={name} value={value} className="button danger small">
          {confirmLabel}
        </button>
      }
      onCancel={cancel}
    />
  );
}

/**
 * The question asked in place of a destructive button: the question, the button that does it,
 * and Cancel, which has the focus (a second Enter, or a key held down, must not confirm);
 * Escape is Cancel too.
 */
export function ConfirmInline({
  question,
  confirm,
  onCancel,
  className = "confirm-inline",
}: {
  question: ReactNode;
  confirm: ReactNode;
  onCancel: () => void;
  className?: string;
}) {
  const questionId = useId();
  return (
    <span
      className={className}
      role="group"
      aria-labelledby={questionId}
      onKeyDown={(event) => {
        if (event.key === "Escape") onCancel();
      }}
    >
      <span className="confirm-text" id={questionId}>
        {question}
      </span>
      {confirm}
      <button type="button" className="button secondary small" onClick={onCancel} autoFocus>
        Cancel
      </button>
    </span>
  );
}
