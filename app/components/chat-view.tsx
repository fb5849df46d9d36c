import { useRevalidator } from "@remix-run/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { RouterOutputs } from "../../client";
import { apiClient } from "~/lib/api-client";
import { LiveText } from "~/lib/live-text";
import { Composer } from "./composer";
import { LiveMessage, MessageItem } from "./message-item";

type Conversation = RouterOutputs["conversations"]["get"]["conversation"];
type Message = RouterOutputs["conversations"]["get"]["messages"][number];
type StreamEvent = RouterOutputs["chat"]["stream"] extends AsyncIterable<infer E> ? E : never;

export interface PendingSend {
  content: string;
  clientMessageId: string;
}

interface ChatViewProps {
  conversation: Conversation;
  messages: Message[];
  /** Older messages exist beyond those given; they load on request. */
  hasEarlier: boolean;
  /** A message typed on the new-chat page, to send as soon as this conversation opens. */
  pendingSend?: PendingSend | null;
  /** A message the page's form post refused (without JavaScript): it stays in the composer with the reason. */
  refused?: { content: string; message: string | null } | null;
}

interface Subscription {
  unsubscribe(): void;
}

/** The conversation: its messages, the reply being streamed, and the composer. */
export function ChatView({ conversation, messages: initialMessages, hasEarlier: initialHasEarlier, pendingSend, refused }: ChatViewProps) {
  const [messages, setMessages] = useState(initialMessages);
  const [hasEarlier, setHasEarlier] = useState(initialHasEarlier);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [live, setLiveState] = useState<LiveText | null>(null);
  const liveRef = useRef<LiveText | null>(null);
  const setLive = useCallback((text: LiveText | null) => {
    liveRef.current = text;
    setLiveState(text);
  }, []);
  const [draft, setDraft] = useState(refused?.content ?? "");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(refused?.message ?? null);
  const subscription = useRef<Subscription | null>(null);
  // Bumped by every new send, follow and unmount: a send still waiting for its start is then
  // not followed (it would be a second, unowned subscription).
  const following = useRef(0);
  const stopFollowing = useCallback(() => {
    following.current++;
    subscription.current?.unsubscribe();
  }, []);
  const revalidator = useRevalidator();
  const scroller = useAutoScroll();

  // Fresh loader data (after a reply ends, or another tab's change) is the truth; unchanged
  // messages keep their identity so their (memoised) rendering is reused.
  useEffect(() => setMessages((current) => reconcile(current, initialMessages)), [initialMessages]);

  const settle = useCallback(
    (message: Message) => {
      setMessages((current) => upsert(current, message));
      setLive(null);
      subscription.current?.unsubscribe();
      subscription.current = null;
      revalidator.revalidate(); // the sidebar's order and titles
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
    [setLive],
  );

  const handleEvent = useCallback(
    (event: StreamEvent, onStart?: () => void) => {
      const data = event.data;
      if (data.type === "start") {
        setMessages((current) => upsert(upsert(current, data.userMessage), data.assistantMessage));
        if (liveRef.current?.messageId !== data.assistantMessage.id) setLive(new LiveText(data.assistantMessage.id));
        setSending(false);
        onStart?.();
        revalidator.revalidate(); // the sidebar shows the conversation, titled, right away
      } else if (data.type === "delta") {
        liveRef.current?.append(data.text);
      } else if (data.type === "reasoning") {
        liveRef.current?.appendReasoning(data.text);
      } else if (data.type === "status") {
        liveRef.current?.setPhase(data.status);
      } else {
        settle(data.assistantMessage);
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
    [settle, setLive],
  );

  /** Follows a reply that is already being written (a reload, another tab, Regenerate). */
  const follow = useCallback(
    (message: Message) => {
      subscription.current?.unsubscribe();
      following.current++;
      const text = new LiveText(message.id, message.content, message.reasoning);
      setLive(text);
      const lastEventId = text.lastEventId;
      subscription.current = apiClient().chat.resume.subscribe(
        { messageId: message.id, ...(lastEventId ? { lastEventId } : {}) },
        {
          onData: (event) => (event.data.type === "start" ? undefined : handleEvent(event)),
          onError: (failure) => {
            setLive(null);
            setError(failure.message);
          },
        },
      );
    },
    [handleEvent, setLive],
  );

  const send = useCallback(
    (content: string, clientMessageId: string = crypto.randomUUID()) => {
      setError(null);
      setSending(true);
      subscription.current?.unsubscribe();
      subscription.current = null;
      const mine = ++following.current;
      const failed = (failure: Error) => {
        // The draft stays in the composer, so nothing typed is lost.
        setSending(false);
        setLive(null);
        setError(failure.message);
      };
      // Started by POST, then followed from its first event: a message of any length fits in a
      // body, while a stream's URL is capped at 8–16 KB by Node and by proxies.
      apiClient()
        .chat.start.mutate({ conversationId: conversation.id, content, clientMessageId })
        .then(({ assistantMessage }) => {
          if (mine !== following.current) return;
          subscription.current = apiClient().chat.resume.subscribe(
            { messageId: assistantMessage.id },
            {
              onData: (event) => handleEvent(event, () => setDraft((current) => (current === content ? "" : current))),
              onError: failed,
            },
          );
        }, failed);
    },
    [conversation.id, handleEvent, setLive],
  );

  const { follow: followScroll } = scroller;
  useEffect(() => followScroll(), [messages, followScroll]);

  // On open: send what the new-chat page handed over, or pick up a reply still being written.
  useEffect(() => {
    if (pendingSend) {
      setDraft(pendingSend.content);
      send(pendingSend.content, pendingSend.clientMessageId);
    } else {
      const last = initialMessages.at(-1);
      if (last?.role === "assistant" && last.status === "streaming") follow(last);
    }
    return stopFollowing;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per conversation opened
  }, [conversation.id]);

  const stop = useCallback(async () => {
    if (!live) return;
    try {
      settle(await apiClient().chat.stop.mutate({ messageId: live.messageId }));
    } catch (failure) {
      setError((failure as Error).message);
    }
  }, [live, settle]);

  const regenerate = useCallback(
    (messageId: string) => {
      setError(null);
      apiClient()
        .chat.regenerate.mutate({ messageId })
        .then(
          ({ assistantMessage }) => {
            setMessages((current) => [...current.filter((message) => message.id !== messageId), assistantMessage]);
            follow(assistantMessage);
          },
          (failure: Error) => setError(failure.message),
        );
    },
    [follow],
  );

  // A reply cut off at the length limit goes on in a new reply, as the model is asked to.
  const continueReply = useCallback(() => send(CONTINUE_PROMPT), [send]);

  const showEarlier = useCallback(async () => {
    const oldest = messages[0];
    if (!oldest) return;
    setLoadingEarlier(true);
    try {
      const page = await apiClient().conversations.get.query({ id: conversation.id, limit: 100, before: oldest.id });
      scroller.keepPositionWhile(() => setMessages((current) => [...page.messages, ...current]));
      setHasEarlier(page.hasEarlier);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setLoadingEarlier(false);
    }
  }, [conversation.id, messages, scroller]);

  const latestReplyId = messages.at(-1)?.role === "assistant" ? messages.at(-1)!.id : null;
  const busy = live !== null || sending;

  return (
    <div className="chat">
      <div className="messages" ref={scroller.ref} onScroll={scroller.onScroll}>
        <div className="messages-inner">
          {hasEarlier ? (
            <button
              type="button"
              className="button secondary small show-earlier"
              onClick={() => void showEarlier()}
              disabled={loadingEarlier}
            >
              {loadingEarlier ? "Loading…" : "Show earlier messages"}
            </button>
          ) : null}
          {messages.length === 0 && !busy ? <p className="empty-chat">Send a message to start the conversation.</p> : null}
          {messages.map((message) =>
            message.id === live?.messageId ? (
              <LiveMessage key={message.id} live={live} onGrow={scroller.follow} />
            ) : (
              <MessageItem
                key={message.id}
                message={message}
                isLatestReply={message.id === latestReplyId}
                busy={busy}
                onRegenerate={regenerate}
                onContinue={continueReply}
              />
            ),
          )}
        </div>
      </div>
      {scroller.awayFromBottom ? (
        <button type="button" className="button secondary jump-latest" onClick={scroller.jump}>
          ↓ Jump to latest
        </button>
      ) : null}
      <Composer
        draft={draft}
        onDraftChange={setDraft}
        onSend={() => send(draft)}
        onStop={() => void stop()}
        generating={live !== null}
        sending={sending}
        error={error}
      />
    </div>
  );
}

const CONTINUE_PROMPT = "Continue from where you stopped.";

function reconcile(current: Message[], fresh: Message[]): Message[] {
  const byId = new Map(current.map((message) => [message.id, message]));
  const same = (a: Message, b: Message) =>
    a.status === b.status &&
    a.content === b.content &&
    a.reasoning === b.reasoning &&
    a.error === b.error &&
    a.finishReason === b.finishReason;
  const freshIds = new Set(fresh.map((message) => message.id));
  const firstFresh = fresh[0];
  // Earlier pages the reader loaded stay; everything from the loader's window on is replaced.
  const cut = firstFresh ? current.findIndex((message) => message.id === firstFresh.id) : -1;
  const earlier = cut > 0 ? current.slice(0, cut).filter((message) => !freshIds.has(message.id)) : [];
  return [
    ...earlier,
    ...fresh.map((message) => (byId.get(message.id) && same(byId.get(message.id)!, message) ? byId.get(message.id)! : message)),
  ];
}

function upsert(messages: Message[], message: Message): Message[] {
  const index = messages.findIndex((existing) => existing.id === message.id);
  if (index === -1) return [...messages, message];
  const copy = messages.slice();
  copy[index] = message;
  return copy;
}

const PINNED_PX = 80;

/** Follows new text while the reader is at the bottom; leaves them be once they scroll up. */
function useAutoScroll() {
  const ref = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const [awayFromBottom, setAwayFromBottom] = useState(false);

  const onScroll = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < PINNED_PX;
    setAwayFromBottom(!pinned.current);
  }, []);

  const jump = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    element.scrollTop = element.scrollHeight;
    pinned.current = true;
    setAwayFromBottom(false);
  }, []);

  const follow = useCallback(() => {
    if (pinned.current && ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, []);

  useEffect(() => {
    if (ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, []);

  /** Prepending older messages must not move what the reader is looking at. */
  const keepPositionWhile = useCallback((change: () => void) => {
    const element = ref.current;
    if (!element) return change();
    const fromBottom = element.scrollHeight - element.scrollTop;
    change();
    requestAnimationFrame(() => {
      element.scrollTop = element.scrollHeight - fromBottom;
    });
  }, []);

  return useMemo(
    () => ({ ref, onScroll, jump, follow, keepPositionWhile, awayFromBottom }),
    [onScroll, jump, follow, keepPositionWhile, awayFromBottom],
  );
}
