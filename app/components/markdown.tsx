import { memo, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { MAX_MARKDOWN_CHARS, renderMarkdown } from "~/lib/markdown";
import { settledBlocks } from "~/lib/markdown-blocks";
import { finishedMessageHtml } from "~/lib/markdown-html.server";
import { highlightCodeBlocksInView, onMarkdownClick } from "~/lib/markdown-interactions";
import { loadMath, MATH_PENDING_CLASS, mathLoaded, onMathLoaded } from "~/lib/math";

/**
 * A message's markdown as HTML (app/lib/markdown.ts). Its buttons (Copy code, load an image)
 * work by one click listener on the container, so they work the same in server-rendered,
 * streaming and finished messages; code is coloured once it scrolls into view.
 *
 * `keep`: the text is final (a saved message). The server then sends HTML it rendered once
 * (see markdown-html.server.ts); the browser renders the same string, so hydration leaves it.
 */
export const Markdown = memo(function Markdown({ text, keep = false }: { text: string; keep?: boolean }) {
  const html = useMarkdownHtml(text, keep);
  return <MarkdownHtml html={html} className="markdown" onClick={onMarkdownClick} />;
});

/** HTML that never changes once shown: its code blocks are coloured when they scroll into view. */
const MarkdownHtml = memo(function MarkdownHtml({
  html,
  className,
  onClick,
}: {
  html: string;
  className?: string;
  onClick?: typeof onMarkdownClick;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => (ref.current ? highlightCodeBlocksInView(ref.current) : undefined), [html]);
  return <div ref={ref} className={className} onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
});

/** One settled block of a streaming reply: its text no longer changes, so it renders once. */
const SettledBlock = memo(function SettledBlock({ text }: { text: string }) {
  const html = useMarkdownHtml(text);
  return <MarkdownHtml html={html} className="markdown-part" />;
});

/**
 * A reply being written: settled blocks render once, only the tail is rendered again on every
 * frame (and not coloured: its code is still changing). Past the size limit the whole reply is
 * plain text, as it will be once finished.
 */
export function StreamingMarkdown({ text }: { text: string }) {
  if (text.length > MAX_MARKDOWN_CHARS) {
    return <div className="markdown" onClick={onMarkdownClick} dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />;
  }
  const { settled, tail } = settledBlocks(text);
  return (
    <div className="markdown" onClick={onMarkdownClick}>
      {settled.map((block, i) => (
        <SettledBlock key={i} text={block} />
      ))}
      {tail ? <StreamingTail text={tail} /> : null}
    </div>
  );
}

/** The tail of a streaming reply, rendered again on every frame. */
function StreamingTail({ text }: { text: string }) {
  const html = useMarkdownHtml(text);
  return <div className="markdown-part" dangerouslySetInnerHTML={{ __html: html }} />;
}

/**
 * Markdown as HTML, with its formulas once KaTeX is in the browser (app/lib/math.ts): the
 * first formula shown as TeX starts loading it, and every message renders again when it is.
 * The server always has KaTeX, so hydration starts from "loaded".
 */
function useMarkdownHtml(text: string, keep = false): string {
  const math = useSyncExternalStore(onMathLoaded, mathLoaded, serverHasMath);
  const html = useMemo(
    () => (keep && typeof document === "undefined" ? finishedMessageHtml(text) : renderMarkdown(text)),
    // `math` is not read, but a change of it changes what renderMarkdown returns.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [text, keep, math],
  );
  useEffect(() => {
    if (!math && html.includes(MATH_PENDING_CLASS)) loadMath().catch(() => undefined);
  }, [math, html]);
  return html;
}

const serverHasMath = () => true;
