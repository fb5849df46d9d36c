import { AccountBadge, LogoutButton } from "./account-menu";
import { Form, Link, NavLink, useNavigate, useRevalidator } from "@remix-run/react";
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { RouterOutputs } from "../../client";
import { apiClient } from "~/lib/api-client";
import { groupByDay } from "~/lib/day-groups";
import { PencilIcon, TrashIcon } from "./icons";
import { useHydrated } from "~/lib/use-hydrated";
import { LIMITS } from "../../client/limits";

type ConversationPage = RouterOutputs["conversations"]["list"];
type ConversationSummary = ConversationPage["items"][number];

interface SidebarProps {
  user: { username: string; role: "admin" | "user" };
  firstPage: ConversationPage;
  search: string;
  activeId: string | null;
  now: string;
}

/** Conversations grouped by day, searchable, paged; rename in place, delete after a confirmation. */
export function Sidebar({ user, firstPage, search: initialSearch, activeId, now }: SidebarProps) {
  const hydrated = useHydrated();
  const [search, setSearch] = useState(initialSearch);
  const [page, setPage] = useState(firstPage);
  const [loadingMore, setLoadingMore] = useState(false);
  const [listError, setListError] = useState<string | null>(null);
  const searched = useRef(initialSearch);

  // The loader's first page is the truth after every navigation or revalidation.
  useEffect(() => {
    if (searched.current === "") setPage(firstPage);
  }, [firstPage]);

  // Search as the person types (the form still works without JavaScript).
  useEffect(() => {
    if (!hydrated || search === searched.current) return;
    const timer = setTimeout(() => {
      searched.current = search;
      apiClient()
        .conversations.list.query({ search: search.trim() || undefined })
        .then((found) => {
          setListError(null);
          setPage(found);
        }, showListError);
    }, 200);
    return () => clearTimeout(timer);
  }, [search, hydrated]);

  // A failed search or page keeps the list shown and says why (the next try clears it).
  function showListError(failure: unknown) {
    setListError(failure instanceof Error ? failure.message : String(failure));
  }

  async function loadMore() {
    if (!page.nextCursor) return;
    setLoadingMore(true);
    try {
      const next = await apiClient().conversations.list.query({ cursor: page.nextCursor, search: searched.current.trim() || undefined });
      setPage((current) => ({ items: [...current.items, ...next.items], nextCursor: next.nextCursor }));
      setListError(null);
    } catch (failure) {
      showListError(failure);
    } finally {
      setLoadingMore(false);
    }
  }

  const groups = groupByDay(page.items, new Date(hydrated ? Date.now() : now), hydrated);

  return (
    <nav className="sidebar-inner" aria-label="Conversations">
      <Form method="get" action="/" className="new-chat-form">
        <button type="submit" className="button primary new-chat">
          New chat
        </button>
      </Form>
      <Form method="get" action="/" role="search" className="sidebar-search" onSubmit={(event) => hydrated && event.preventDefault()}>
        <label htmlFor="conversation-search" className="visually-hidden">
          Search conversations
        </label>
        <input
          id="conversation-search"
          name="q"
          type="search"
          placeholder="Search conversations"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
      </Form>
      <div className="conversation-list">
        {page.items.length === 0 ? <p className="sidebar-empty">{search ? "No conversation matches." : "No conversations yet."}</p> : null}
        {groups.map((group) => (
          <section key={group.label} aria-label={group.label}>
            <h2 className="group-label">{group.label}</h2>
            <ul>
              {group.items.map((conversation) => (
                <ConversationRow key={conversation.id} conversation={conversation} active={conversation.id === activeId} search={search} />
              ))}
            </ul>
          </section>
        ))}
        {page.nextCursor ? (
          <button type="button" className="button secondary small load-more" onClick={() => void loadMore()} disabled={loadingMore}>
            {loadingMore ? "Loading…" : "Show older conversations"}
          </button>
        ) : null}
        {listError ? (
          <p className="field-error" role="alert">
            {listError}
          </p>
        ) : null}
      </div>
      <div className="sidebar-footer">
        <AccountBadge user={user} />
        <div className="sidebar-links">
          <Link to="/account">Account</Link>
          {user.role === "admin" ? <Link to="/admin/keys">Registration keys</Link> : null}
          {user.role === "admin" ? <Link to="/admin/users">Users</Link> : null}
          {user.role === "admin" ? <Link to="/admin/models">Models</Link> : null}
        </div>
        <LogoutButton />
      </div>
    </nav>
  );
}

function ConversationRow({ conversation, active, search }: { conversation: ConversationSummary; active: boolean; search: string }) {
  const [mode, setMode] = useState<"view" | "rename" | "confirm-delete">("view");
  const [title, setTitle] = useState(conversation.title);
  const [error, setError] = useState<string | null>(null);
  const revalidator = useRevalidator();
  const navigate = useNavigate();

  useEffect(() => setTitle(conversation.title), [conversation.title]);

  // Back from renaming (Escape) to the conversation itself, from a cancelled delete to its
  // button: not to the top of the page.
  const link = useRef<HTMLAnchorElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef<"link" | "delete" | null>(null);
  useEffect(() => {
    if (mode === "view" && returnFocus.current) {
      (returnFocus.current === "link" ? link : deleteButton).current?.focus();
      returnFocus.current = null;
    }
  }, [mode]);
  const backToView = (focus: "link" | "delete") => {
    returnFocus.current = focus;
    setMode("view");
  };

  async function rename(event?: FormEvent) {
    event?.preventDefault();
    if (mode !== "rename") return;
    setMode("view");
    const next = title.trim();
    if (!next || next === conversation.title) return setTitle(conversation.title);
    try {
      await apiClient().conversations.rename.mutate({ id: conversation.id, title: next });
      revalidator.revalidate();
    } catch (failure) {
      setTitle(conversation.title);
      setError((failure as Error).message);
    }
  }

  async function remove() {
    try {
      await apiClient().conversations.delete.mutate({ id: conversation.id });
      if (active) navigate("/");
      else revalidator.revalidate();
    } catch (failure) {
      setError((failure as Error).message);
      setMode("view");
    }
  }

  if (mode === "rename") {
    return (
      <li className="conversation-row editing">
        <form onSubmit={(event) => void rename(event)}>
          <input
            aria-label="Conversation title"
            value={title}
            maxLength={LIMITS.titleChars}
            autoFocus
            onChange={(event) => setTitle(event.target.value)}
            onBlur={() => void rename()}
            onKeyDown={(event) => {
              if (event.key === "Escape") {
                // Escape here is about the title, not the drawer around it (whose listener is on
                // the document, where React's own is: hence stopImmediatePropagation).
                event.nativeEvent.stopImmediatePropagation();
                setTitle(conversation.title);
                backToView("link");
              }
            }}
          />
        </form>
      </li>
    );
  }

  if (mode === "confirm-delete") {
    return (
      <li
        className="conversation-row confirming"
        role="group"
        aria-label={`Delete “${conversation.title}”?`}
        onKeyDown={(event) => {
          if (event.key === "Escape") {
            // Escape takes back the question; the drawer around it stays open (see rename).
            event.nativeEvent.stopImmediatePropagation();
            backToView("delete");
          }
        }}
      >
        <span className="confirm-text">Delete “{conversation.title}”?</span>
        <button type="button" className="button danger small" onClick={() => void remove()}>
          Delete
        </button>
        {/* Focus starts on Cancel, as in ConfirmSubmit: a second Enter must not delete. */}
        <button type="button" className="button secondary small" onClick={() => backToView("delete")} autoFocus>
          Cancel
        </button>
      </li>
    );
  }

  return (
    <li className={active ? "conversation-row active" : "conversation-row"}>
      <NavLink to={conversationHref(conversation)} className="conversation-link" title={title} ref={link}>
        {title}
        {conversation.match ? (
          <span className="search-excerpt">
            <Marked text={conversation.match.excerpt} search={search} />
          </span>
        ) : null}
      </NavLink>
      <span className="row-actions">
        <button type="button" className="icon-button" aria-label={`Rename “${title}”`} title="Rename" onClick={() => setMode("rename")}>
          <PencilIcon />
        </button>
        <button
          type="button"
          className="icon-button"
          ref={deleteButton}
          aria-label={`Delete “${title}”`}
          title="Delete"
          onClick={() => {
            setError(null);
            setMode("confirm-delete");
          }}
        >
          <TrashIcon />
        </button>
      </span>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </li>
  );
}

/** A search hit opens on the branch holding the message that matched. */
function conversationHref(conversation: ConversationSummary): string {
  const match = conversation.match;
  return match ? `/c/${conversation.id}?message=${encodeURIComponent(match.messageId)}` : `/c/${conversation.id}`;
}

/** The text with each place `search` occurs (ignoring case) marked. */
function Marked({ text, search }: { text: string; search: string }) {
  const needle = search.trim().toLowerCase();
  if (!needle) return text;
  const parts: ReactNode[] = [];
  const lower = text.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
    parts.push(text.slice(from, at), <mark key={at}>{text.slice(at, at + needle.length)}</mark>);
    from = at + needle.length;
  }
  parts.push(text.slice(from));
  return parts;
}
