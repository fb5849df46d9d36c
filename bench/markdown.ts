/**
 * How long rendering a reply's markdown takes (app/lib/markdown.ts), for ordinary answers and
 * for input crafted to be slow or deep (issue #12), and how deep the HTML nests.
 *
 *   npx tsx bench/markdown.ts [chars=50000,100000,200000]
 */
import { MAX_MARKDOWN_CHARS, renderMarkdown } from "../app/lib/markdown";
import "../app/lib/math.server";
import { codingAnswer, craftedMarkdown, htmlDepth } from "../tests/fixtures/crafted-markdown";
import { median } from "./stats";

const sizes = (process.argv[2] ?? "50000,100000,200000").split(",").map(Number);

function time(text: string): { ms: number; depth: number } {
  renderMarkdown(text.slice(0, 2000)); // warm the rules this input uses
  const times: number[] = [];
  let html = "";
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    html = renderMarkdown(text);
    times.push(performance.now() - start);
  }
  return { ms: median(times), depth: htmlDepth(html) };
}

// Compile the common rules first, so the first row does not pay for it.
for (let run = 0; run < 3; run++) renderMarkdown(codingAnswer(50_000));

console.log(`renderMarkdown, median of 3 (plain text past ${MAX_MARKDOWN_CHARS.toLocaleString("en")} characters)\n`);
console.log(`${"input".padEnd(52)}${sizes.map((size) => `${(size / 1000).toFixed(0)}k chars`.padStart(22)).join("")}`);
const row = (name: string, texts: string[]) => {
  const cells = texts.map((text) => {
    const { ms, depth } = time(text);
    return `${ms.toFixed(1)} ms ${((ms * 1000) / text.length).toFixed(2)} µs/c d${depth}`.padStart(22);
  });
  console.log(`${name.slice(0, 50).padEnd(52)}${cells.join("")}`);
};
row(
  "coding answer (prose, code, lists, tables)",
  sizes.map((size) => codingAnswer(size)),
);
const families = sizes.map((size) => craftedMarkdown(size));
families[0]!.forEach(({ name }, i) =>
  row(
    name,
    families.map((family) => family[i]!.text),
  ),
);
