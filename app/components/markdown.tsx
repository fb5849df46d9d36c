import { memo, useState, type ComponentProps } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
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

function CodeBlock({ children, ...props }: ComponentProps<"pre">) {
  const text = extractText(children);
  return (
    <div className="code-block">
      <div className="code-toolbar">
        <CopyButton text={text} label="Copy code" />
      </div>
      <pre {...props}>{children}</pre>
    </div>
  );
}

function extractText(node: unknown): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(extractText).join("");
  if (node && typeof node === "object" && "props" in node) return extractText((node as { props: { children?: unknown } }).props.children);
  return "";
}

const components: Components = { a: SafeLink, img: DeferredImage, pre: CodeBlock };
const remarkPlugins = [remarkGfm, remarkHtmlAsText];
const rehypePlugins = [[rehypeHighlight, { detect: false, ignoreMissing: true }]] as ComponentProps<typeof ReactMarkdown>["rehypePlugins"];

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components} skipHtml={false}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
