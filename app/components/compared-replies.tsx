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
  onKeep: (messageId: string) => void;
  onGrow: () => void;
}) {
  return (
    <section className="comparison" aria-label="Compared replies">
      <p className="comparison-hint">Keep the reply you prefer to go on from it; the others stay as its versions (‹ ›).</p>
      <div className="comparison-grid" data-count={comparison.replies.length}>
        {comparison.replies.map(({ message, live }) => (
          <section key={message.id} className="compared-reply" aria-label={`Reply from ${labelOf(message.model)}`}>
            <h3 className="compared-model">{labelOf(message.model)}</h3>
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
            <button type="button" className="button secondary small compared-keep" onClick={() => onKeep(message.id)}>
              Keep this reply
            </button>
          </section>
        ))}
      </div>
    </section>
  );
}
