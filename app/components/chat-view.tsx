import { useRevalidator } from "@remix-run/react";
import { useCallback, useEffect, useRef, useState } from "react";
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
  /** A message typed on the new-chat page, to send as soon as this conversation opens. */
  pendingSend?: PendingSend | null;
}

interface Subscription {
  unsubscribe(): void;
}

/** The conversation: its messages, the reply being streamed, and the composer. */
export function ChatView({ conversation, messages: initialMessages, pendingSend }: ChatViewProps) {
  const [messages, setMessages] = useState(initialMessages);
  const [live, setLiveState] = useState<LiveText | null>(null);
  const liveRef = useRef<LiveText | null>(null);
  const setLive = useCallback((text: LiveText | null) => {
    liveRef.current = text;
    setLiveState(text);
  }, []);
  const [draft, setDraft] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const subscription = useRef<Subscription | null>(null);
  const revalidator = useRevalidator();
  const scroller = useAutoScroll();

  // Fresh loader data (after a reply ends, or another tab's change) is the truth.
  useEffect(() => setMessages(initialMessages), [initialMessages]);

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
      } else if (data.type === "delta") {
        liveRef.current?.append(data.text);
      } else {
        settle(data.assistantMessage);
      }
    },
    [settle, setLive],
  );

  /** Follows a reply that is already being written (a reload, another tab, Regenerate). */
  const follow = useCallback(
    (message: Message) => {
      subscription.current?.unsubscribe();
      const text = new LiveText(message.id, message.content);
      setLive(text);
      subscription.current = apiClient().chat.resume.subscribe(
        { messageId: message.id, ...(message.content ? { lastEventId: `${message.id}:${message.content.length}` } : {}) },
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
      subscription.current = apiClient().chat.stream.subscribe(
        { conversationId: conversation.id, content, clientMessageId },
        {
          onData: (event) => handleEvent(event, () => setDraft((current) => (current === content ? "" : current))),
          onError: (failure) => {
            // The draft stays in the composer, so nothing typed is lost.
            setSending(false);
            setLive(null);
            setError(failure.message);
          },
        },
      );
    },
    [conversation.id, handleEvent, setLive],
  );

  useEffect(scroller.follow, [messages.length, scroller.follow]);

  // On open: send what the new-chat page handed over, or pick up a reply still being written.
  useEffect(() => {
    if (pendingSend) {
      setDraft(pendingSend.content);
      send(pendingSend.content, pendingSend.clientMessageId);
    } else {
      const last = initialMessages.at(-1);
      if (last?.role === "assistant" && last.status === "streaming") follow(last);
    }
    return () => subscription.current?.unsubscribe();
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
    async (messageId: string) => {
      setError(null);
      try {
        const { assistantMessage } = await apiClient().chat.regenerate.mutate({ messageId });
        setMessages((current) => [...current.filter((message) => message.id !== messageId), assistantMessage]);
        follow(assistantMessage);
      } catch (failure) {
        setError((failure as Error).message);
      }
    },
    [follow],
  );

  const latestReplyId = messages.at(-1)?.role === "assistant" ? messages.at(-1)!.id : null;
  const busy = live !== null || sending;

  return (
    <div className="chat">
      <div className="messages" ref={scroller.ref} onScroll={scroller.onScroll}>
        <div className="messages-inner">
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
        onStop={stop}
        generating={live !== null}
        sending={sending}
        error={error}
      />
    </div>
  );
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

  return { ref, onScroll, jump, follow, awayFromBottom };
}
