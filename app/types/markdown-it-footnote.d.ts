// markdown-it-footnote 4 ships no types (and @types/markdown-it-footnote is written against
// @types/markdown-it, not the types markdown-it 15 bundles): the one export we use.
declare module "markdown-it-footnote" {
  import type { MarkdownIt } from "markdown-it";

  /** Footnote references (`[^1]`), definitions (`[^1]: …`) and inline notes (`^[…]`). */
  export default function footnote(md: MarkdownIt): void;
}
