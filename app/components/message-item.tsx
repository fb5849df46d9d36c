import { memo, useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from "react";
import type { Message } from "~/lib/message-list";
import type { LiveText } from "~/lib/live-text";
import { ConfirmInline } from "./confirm-submit";
import { CopyButton } from "./copy-button";
import { PencilIcon, RetryIcon, TrashIcon } from "./icons";
import { Markdown, StreamingMarkdown } from "./markdown";

interface MessageItemProps {
  message: Message;
  /** The latest reply gets Regenerate (or Retry after an error). */
  isLatestReply: boolean;
  busy: boolean;
  /**
   * A message is on its way to the server: versions and edits wait for it. (They need not wait
   * for a reply being written: it goes on, on its branch, while another is read or started.)
   */
  starting: boolean;
  onRegenerate: (messageId: string) => void;
  /** Asks the model to go on after a reply that stopped at the length limit. */
  onContinue: () => void;
  /** Edit and resend; `accepted` when the server took the new version. */
  onEdit: (messageId: string, content: string, accepted: () => void) => void;
  /** Shows another version of a message (its branch). */
  onShowVersion: (messageId: string, direction: "Previous" | "Next") => void;
  /** Deletes the message and what follows it; absent where nothing may be deleted. */
  onDelete?: (messageId: string) => void;
  /** The search hit the page was opened on. */
  marked?: boolean;
}

const ROLE_LABEL = { user: "You", assistant: "Assistant", system: "System" } as const;

export const MessageItem = memo(function MessageItem({
  message,
  isLatestReply,
  busy,
  starting,
  onRegenerate,
  onContinue,
  onEdit,
  onShowVersion,
  onDelete,
  marked = false,
}: MessageItemProps) {
  const [editing, setEditing] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  // Taken back, the question gives focus back to the button that asked it.
  const deleteButton = useRef<HTMLButtonElement>(null);
  const tookBack = useRef(false);
  useEffect(() => {
    if (!confirmingDelete && tookBack.current) deleteButton.current?.focus();
  }, [confirmingDelete]);
  const failed = message.status === "error" || message.status === "interrupted";
  const cutOff = message.status === "complete" && message.finishReason === "length";
  return (
    <article
      className={`message message-${message.role}${marked ? " message-hit" : ""}`}
      aria-label={`${ROLE_LABEL[message.role]} said`}
      data-status={message.status}
      data-message-id={message.id}
      aria-current={marked ? "true" : undefined}
    >
      <div className="message-body">
        {message.reasoning.trim() ? <Thinking reasoning={message.reasoning} label={thoughtLabel(message.reasoningMs)} /> : null}
        {message.role === "user" && editing ? (
          <EditMessage
            text={message.content}
            busy={starting}
            onCancel={() => setEditing(false)}
            onSend={(content) => onEdit(message.id, content, () => setEditing(false))}
          />
        ) : message.role === "user" ? (
          <p className="user-text">{message.content}</p>
        ) : (
          <Markdown text={message.content} keep={message.status !== "streaming"} />
        )}
        {message.status === "stopped" ? <p className="message-note">Stopped.</p> : null}
        {cutOff ? (
          <div className="message-cutoff">
            <p className="message-note">The reply stopped at the longest a reply may be.</p>
            {isLatestReply ? (
              <button type="button" className="button secondary small" onClick={onContinue} disabled={busy}>
                Continue
              </button>
            ) : null}
          </div>
        ) : null}
        {failed ? (
          <div className="message-error" role="alert">
            <p>{message.error ?? "This reply did not finish."}</p>
            {isLatestReply ? (
              <button type="button" className="button secondary small" onClick={() => onRegenerate(message.id)} disabled={busy}>
                Retry
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
      {confirmingDelete && onDelete ? (
        <ConfirmDelete
          onlyReply={message.role === "assistant" && (message.versionIds?.length ?? 1) === 1}
          onConfirm={() => onDelete(message.id)}
          onCancel={() => {
            tookBack.current = true;
            setConfirmingDelete(false);
          }}
        />
      ) : (
        <div className="message-actions">
          {message.versionIds && message.versionIds.length > 1 ? (
            <Versions ids={message.versionIds} id={message.id} busy={starting} onShow={onShowVersion} />
          ) : null}
          {message.content ? <CopyButton text={message.content} icon /> : null}
          {message.role === "user" && !editing ? (
            <button
              type="button"
              className="icon-button"
              onClick={() => setEditing(true)}
              disabled={starting}
              aria-label="Edit"
              title="Edit"
            >
              <PencilIcon />
            </button>
          ) : null}
          {isLatestReply && !failed && message.role === "assistant" ? (
            <button
              type="button"
              className="icon-button"
              onClick={() => onRegenerate(message.id)}
              disabled={busy}
              aria-label="Regenerate"
              title="Regenerate"
            >
              <RetryIcon />
            </button>
          ) : null}
          {onDelete && message.status !== "streaming" ? (
            <button
              type="button"
              className="icon-button"
              onClick={() => setConfirmingDelete(true)}
              ref={deleteButton}
              disabled={busy}
              aria-label="Delete"
              title="Delete, with what follows"
            >
              <TrashIcon />
            </button>
          ) : null}
          {message.role === "assistant" && message.model ? <span className="message-model">{message.model}</span> : null}
        </div>
      )}
    </article>
  );
});

/**
 * Asks before deleting, in place (as the sidebar does): focus starts on Cancel, Escape takes
 * it back. Other versions stay; what follows the message, on any branch, goes with it.
 */
function ConfirmDelete({ onlyReply, onConfirm, onCancel }: { onlyReply: boolean; onConfirm: () => void; onCancel: () => void }) {
  return (
    <ConfirmInline
      className="message-actions confirm-inline"
      question={
        onlyReply ? "Delete this reply and the question it answers, with all that follows?" : "Delete this and all that follows it?"
      }
      confirm={
        <button type="button" className="button danger small" onClick={onConfirm}>
          Delete
        </button>
      }
      onCancel={onCancel}
    />
  );
}

/** "‹ 2/3 ›": which version of a message this is, and the way to the others. */
function Versions({
  ids,
  id,
  busy,
  onShow,
}: {
  ids: string[];
  id: string;
  busy: boolean;
  onShow: (messageId: string, direction: "Previous" | "Next") => void;
}) {
  const index = ids.indexOf(id);
  return (
    <span className="versions" role="group" aria-label={`Version ${index + 1} of ${ids.length}`}>
      <button
        type="button"
        className="icon-button"
        aria-label="Previous version"
        disabled={busy || index <= 0}
        onClick={() => onShow(ids[index - 1]!, "Previous")}
      >
        ‹
      </button>
      <span className="version-count" aria-hidden="true">
        {index + 1}/{ids.length}
      </span>
      <button
        type="button"
        className="icon-button"
        aria-label="Next version"
        disabled={busy || index >= ids.length - 1}
        onClick={() => onShow(ids[index + 1]!, "Next")}
      >
        ›
      </button>
    </span>
  );
}

/** Edit in place: Enter sends, Shift+Enter makes a new line, Escape cancels; the text stays if sending fails. */
function EditMessage({
  text,
  busy,
  onSend,
  onCancel,
}: {
  text: string;
  busy: boolean;
  onSend: (content: string) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState(text);
  const canSend = !busy && draft.trim() !== "" && draft !== text;
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (canSend) onSend(draft);
  };
  return (
    <form className="edit-message" onSubmit={submit}>
      <textarea
        aria-label="Edited text"
        value={draft}
        autoFocus
        rows={Math.min(12, Math.max(2, draft.split("\n").length))}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
          else if (event.key === "Escape") {
            event.preventDefault();
            onCancel();
          }
        }}
      />
      <div className="edit-actions">
        <button type="button" className="button secondary small" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button primary small" disabled={!canSend}>
          Send
        </button>
      </div>
    </form>
  );
}

/** The reply being written: the only message that renders on every frame of new text. */
export function LiveMessage({ live, onGrow }: { live: LiveText; onGrow: () => void }) {
  const { text, reasoning, phase, thoughtMs } = useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
  useEffect(onGrow, [text, reasoning, onGrow]);
  const thinking = reasoning !== "" && text === "";
  return (
    <article className="message message-assistant" aria-label="Assistant is writing" aria-busy="true" data-status="streaming">
      <div className="message-body">
        {reasoning ? <Thinking reasoning={reasoning} label={thinking ? "Thinking…" : thoughtLabel(thoughtMs)} live={thinking} /> : null}
        {text ? <StreamingMarkdown text={text} /> : null}
        {/* While it thinks, the pulsing "Thinking…" line above says so. */}
        {thinking ? null : (
          <p className="generating" role="status" data-phase={phase?.phase ?? "writing"}>
            <span className="dots" aria-hidden="true" /> {phase ? phase.message : "Generating…"}
          </p>
        )}
      </div>
    </article>
  );
}

/**
 * A reasoning model's thinking, folded: a summary line, the text (as written, not as markdown:
 * it is long and rough) when opened.
 */
function Thinking({ reasoning, label, live = false }: { reasoning: string; label: string; live?: boolean }) {
  return (
    <details className="thinking" data-live={live || undefined}>
      <summary>{label}</summary>
      {/* Models open and close their thinking with blank lines; they are no part of it. */}
      <div className="thinking-text">{reasoning.trim()}</div>
    </details>
  );
}

function thoughtLabel(ms: number | null): string {
  if (ms === null) return "Thoughts";
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return "Thought for a moment";
  return seconds < 90 ? `Thought for ${seconds} s` : `Thought for ${Math.round(seconds / 60)} min`;
}
