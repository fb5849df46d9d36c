import { RemixBrowser } from "@remix-run/react";
import { startTransition, StrictMode } from "react";
import { hydrateRoot } from "react-dom/client";
import { loadMath } from "~/lib/math";

/** Remix's own entry, but a page that arrived with formulas loads KaTeX first (see math.ts). */
async function hydrate() {
  // Rendered again in the browser without KaTeX, its formulas would not match the server's HTML.
  if (document.querySelector(".katex")) await loadMath().catch(() => undefined);
  startTransition(() => {
    hydrateRoot(
      document,
      <StrictMode>
        <RemixBrowser />
      </StrictMode>,
    );
  });
}

void hydrate();
