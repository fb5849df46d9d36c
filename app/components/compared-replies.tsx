import type { Comparison } from "./use-comparison";
import { LiveMessage, MessageItem } from "./message-item";

const nothing = () => {};

/**
 * The replies of a comparison side by side (stacked on a phone), each under its model's name,
 * with the way to keep one.
 */
export function ComparedReplies({
  comparison,
  labelOf,
  onKeep,
  onGrow,
}: {
  comparison: Comparison;
  labelOf: (model: string | null) => string;
  onKeep: (reply: Comparison["replies"][number]["message"]) => void;
  onGrow: () => void;
}) {
  return (
    <section className="comparison" aria-label="Compared replies">
      <p className="comparison-hint">
        Keep the reply you prefer: the conversation goes on from it, with its model; the others stay as its versions (‹ ›). Going on without
        choosing keeps the first.
      </p>
      <div className="comparison-grid" data-count={comparison.replies.length}>
        {comparison.replies.map(({ message, live }) => (
          <section key={message.id} className="compared-reply" aria-label={`Reply from ${labelOf(message.model)}`}>
            <div className="compared-header">
              <h3 className="compared-model">{labelOf(message.model)}</h3>
              <button
                type="button"
                className="button secondary small"
                onClick={() => onKeep(message)}
                aria-label={`Keep this reply, from ${labelOf(message.model)}`}
              >
                Keep this reply
              </button>
            </div>
            {live ? (
              <LiveMessage live={live} onGrow={onGrow} />
            ) : (
              <MessageItem
                message={message}
                isLatestReply={false}
                busy
                starting
                onRegenerate={nothing}
                onContinue={nothing}
                onEdit={nothing}
                onShowVersion={nothing}
              />
            )}
          </section>
        ))}
      </div>
    </section>
  );
}
