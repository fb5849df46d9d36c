import { memo, useEffect, useSyncExternalStore } from "react";
import type { Message } from "../../server/services/conversations";
import type { LiveText } from "~/lib/live-text";
import { CopyButton } from "./copy-button";
import { Markdown, StreamingMarkdown } from "./markdown";

interface MessageItemProps {
  message: Message;
  /** The latest reply gets Regenerate (or Retry after an error). */
  isLatestReply: boolean;
  busy: boolean;
  onRegenerate: (messageId: string) => void;
}

const ROLE_LABEL = { user: "You", assistant: "Assistant", system: "System" } as const;

export const MessageItem = memo(function MessageItem({ message, isLatestReply, busy, onRegenerate }: MessageItemProps) {
  const failed = message.status === "error" || message.status === "interrupted";
  return (
    <article className={`message message-${message.role}`} aria-label={`${ROLE_LABEL[message.role]} said`} data-status={message.status}>
      <div className="message-body">
        {message.role === "user" ? (
          <p className="user-text">{message.content}</p>
        ) : (
          <Markdown text={message.content} keep={message.status !== "streaming"} />
        )}
        {message.status === "stopped" ? <p className="message-note">Stopped.</p> : null}
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
      <div className="message-actions">
        {message.content ? <CopyButton text={message.content} /> : null}
        {isLatestReply && !failed && message.role === "assistant" ? (
          <button type="button" className="button secondary small" onClick={() => onRegenerate(message.id)} disabled={busy}>
            Regenerate
          </button>
        ) : null}
        {message.role === "assistant" && message.model ? <span className="message-model">{message.model}</span> : null}
      </div>
    </article>
  );
});

/** The reply being written: the only message that renders on every frame of new text. */
export function LiveMessage({ live, onGrow }: { live: LiveText; onGrow: () => void }) {
  const text = useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
  useEffect(onGrow, [text, onGrow]);
  return (
    <article className="message message-assistant" aria-label="Assistant is writing" aria-busy="true" data-status="streaming">
      <div className="message-body">
        {text ? <StreamingMarkdown text={text} /> : null}
        <p className="generating" role="status">
          <span className="dots" aria-hidden="true" /> Generating…
        </p>
      </div>
    </article>
  );
}
