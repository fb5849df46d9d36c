import { memo, useEffect, useRef, useState, type ComponentProps, type ReactElement } from "react";
import renderMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { settledBlocks } from "~/lib/markdown-blocks";
import { finishedMessageHtml } from "~/lib/markdown-html.server";
import { CopyButton } from "./copy-button";

interface MdNode {
  type: string;
  value?: string;
  children?: MdNode[];
}

/**
 * Raw HTML in a message is shown as the text it is, never rendered: the model (or someone
 * pasting) could otherwise run script in a teammate's browser.
 */
function remarkHtmlAsText() {
  return (tree: MdNode) => {
    const visit = (node: MdNode) => {
      if (node.type === "html") node.type = "text";
      node.children?.forEach(visit);
    };
    visit(tree);
  };
}

function SafeLink({ href, children }: ComponentProps<"a">) {
  return (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  );
}

/** Remote images are not fetched until asked: loading one tells its host that the chat was opened. */
function DeferredImage({ src, alt }: ComponentProps<"img">) {
  const [load, setLoad] = useState(false);
  if (typeof src !== "string" || !src) return null;
  if (load) return <img src={src} alt={alt ?? ""} referrerPolicy="no-referrer" loading="lazy" />;
  let host = src;
  try {
    host = new URL(src).host;
  } catch {
    // a relative or odd URL: show it as it is
  }
  return (
    <button type="button" className="image-placeholder" onClick={() => setLoad(true)}>
      Image{alt ? ` “${alt}”` : ""} from {host} — load it
    </button>
  );
}

/**
 * Code is highlighted in the browser once it scrolls into view: highlighting costs several
 * times more than the rest of a message, and a long conversation would pay it for every
 * block on the server and at hydration.
 */
function CodeBlock({ children }: ComponentProps<"pre">) {
  const text = extractText(children).replace(/\n$/, "");
  const language = languageOf(children);
  const codeRef = useRef<HTMLElement>(null);

  useEffect(() => {
    const element = codeRef.current;
    if (!element || !language) return;
    let cancelled = false;
    const observer = new IntersectionObserver(async ([entry]) => {
      if (!entry?.isIntersecting) return;
      observer.disconnect();
      const { highlightCode } = await import("~/lib/highlight.client");
      if (!cancelled) highlightCode(element, text, language);
    });
    observer.observe(element);
    return () => {
      cancelled = true;
      observer.disconnect();
    };
  }, [text, language]);

  return (
    <div className="code-block">
      <div className="code-toolbar">
        {language ? <span className="code-language">{language}</span> : null}
        <CopyButton text={text} label="Copy code" />
      </div>
      <pre>
        <code ref={codeRef} className={language ? `language-${language}` : undefined}>
          {text}
        </code>
      </pre>
    </div>
  );
}

function languageOf(node: unknown): string | null {
  const child = Array.isArray(node) ? node[0] : node;
  const className = (child as { props?: { className?: unknown } } | null)?.props?.className;
  const match = typeof className === "string" ? className.match(/language-([\w+#-]+)/) : null;
  return match?.[1] ?? null;
}

function extractText(node: unknown): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(extractText).join("");
  if (node && typeof node === "object" && "props" in node) return extractText((node as { props: { children?: unknown } }).props.children);
  return "";
}

const components: Components = { a: SafeLink, img: DeferredImage, pre: CodeBlock };
const remarkPlugins = [remarkGfm, remarkHtmlAsText];

function parse(text: string): ReactElement {
  return renderMarkdown({ children: text, remarkPlugins, components, skipHtml: false });
}

/**
 * `keep`: the text is final (a saved message). The server then sends HTML it rendered once
 * (see markdown-html.server.ts); the browser renders the same elements and hydrates onto it.
 */
export const Markdown = memo(function Markdown({ text, keep = false }: { text: string; keep?: boolean }) {
  if (keep && typeof document === "undefined") {
    return <div className="markdown" dangerouslySetInnerHTML={{ __html: finishedMessageHtml(text, parse) }} />;
  }
  return <div className="markdown">{parse(text)}</div>;
});

/** One settled block of a streaming reply: its text no longer changes, so it renders once. */
const SettledBlock = memo(function SettledBlock({ text }: { text: string }) {
  return parse(text);
});

/** A reply being written: settled blocks render once, only the tail is parsed on every frame. */
export function StreamingMarkdown({ text }: { text: string }) {
  const { settled, tail } = settledBlocks(text);
  return (
    <div className="markdown">
      {settled.map((block, i) => (
        <SettledBlock key={i} text={block} />
      ))}
      {tail ? parse(tail) : null}
    </div>
  );
}
