import { json, type LinksFunction, type LoaderFunctionArgs } from "@remix-run/node";
import { Outlet, useLoaderData, useLocation, useParams } from "@remix-run/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { CloseIcon } from "~/components/icons";
import { Sidebar } from "~/components/sidebar";
import { requireUser } from "~/lib/session.server";
import katexStyles from "katex/dist/katex.min.css";

export type ChatOutletContext = {
  models: { models: { id: string; label: string }[]; defaultModel: string; demo: boolean };
  openSidebar: () => void;
  /** Whether the phone drawer is open (the menu button's aria-expanded). */
  sidebarOpen: boolean;
};

// KaTeX's styles and fonts (the fonts load only when a formula shows): replies' math (app/lib/math.ts).
export const links: LinksFunction = () => [{ rel: "stylesheet", href: katexStyles }];

/** The chat pages' frame: the conversation sidebar (a drawer on phones) around the open chat. */
export async function loader({ context, request }: LoaderFunctionArgs) {
  const user = requireUser(context, request);
  const search = new URL(request.url).searchParams.get("q")?.trim() ?? "";
  const [firstPage, models] = await Promise.all([
    context.api.conversations.list({ limit: 50, search: search || undefined }),
    context.api.models.list(),
  ]);
  return json({ user, firstPage, search, models, now: new Date().toISOString() });
}

export default function ChatLayout() {
  const { user, firstPage, search, models, now } = useLoaderData<typeof loader>();
  const { conversationId } = useParams();
  const location = useLocation();
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const closeSidebar = useCallback(() => setSidebarOpen(false), []);
  const drawer = useDrawerFocus(sidebarOpen, closeSidebar);

  // Any navigation closes the drawer: another conversation, or a search hit in the one open.
  useEffect(() => setSidebarOpen(false), [location.pathname, location.search]);

  const outletContext: ChatOutletContext = { models, openSidebar: () => setSidebarOpen(true), sidebarOpen };
  return (
    <div className={sidebarOpen ? "chat-layout sidebar-open" : "chat-layout"}>
      <aside className="sidebar" id="sidebar" ref={drawer.panel}>
        <button type="button" className="icon-button close-sidebar" aria-label="Close sidebar" onClick={() => setSidebarOpen(false)}>
          <CloseIcon />
        </button>
        <Sidebar user={user} firstPage={firstPage} search={search} activeId={conversationId ?? null} now={now} />
      </aside>
      {sidebarOpen ? <div className="sidebar-backdrop" onClick={() => setSidebarOpen(false)} aria-hidden="true" /> : null}
      <main className="chat-main" ref={drawer.behind}>
        <Outlet context={outletContext} />
      </main>
    </div>
  );
}

/**
 * The phone drawer's focus: opening it moves focus to its first control (the close button)
 * and makes the page behind it inert (Tab and screen readers stay in the drawer, as in a
 * modal dialog); closing it (Escape, the close button, the backdrop) gives focus back to what
 * opened it.
 */
function useDrawerFocus(open: boolean, close: () => void) {
  const drawer = useRef<HTMLElement>(null);
  const behind = useRef<HTMLElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  useEffect(() => {
    // Set on the element: React 18 does not know the inert attribute.
    if (behind.current) behind.current.inert = open;
    if (open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      drawer.current?.querySelector<HTMLElement>(".close-sidebar")?.focus();
    } else if (opener.current) {
      opener.current.focus();
      opener.current = null;
    }
  }, [open]);
  // Escape anywhere closes it, not only inside it.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && close();
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [open, close]);
  return { panel: drawer, behind };
}
