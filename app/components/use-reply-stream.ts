import { useRevalidator } from "@remix-run/react";
import { useCallback, useRef, useState, type Dispatch, type SetStateAction } from "react";
import { apiClient } from "~/lib/api-client";
import { LiveText } from "~/lib/live-text";
import { upsert, type Message, type StreamEvent } from "~/lib/message-list";

interface Subscription {
  unsubscribe(): void;
}

export interface SendOptions {
  clientMessageId?: string;
  /** The reply the message follows; null: a new first message; undefined: the branch the server shows. */
  parentId?: string | null;
  /** The message is shown (stored, its reply started). */
  onStarted?: () => void;
}

/**
 * The reply being written in a conversation, as the page sees it: sending a message (started
 * by POST, then followed), following a reply already running, stopping and regenerating. The
 * text streams into a LiveText (one message re-renders, not the list); when the reply ends it
 * settles into `messages`.
 */
export function useReplyStream({
  conversationId,
  setMessages,
  initialError,
}: {
  conversationId: string;
  setMessages: Dispatch<SetStateAction<Message[]>>;
  initialError: string | null;
}) {
  const [live, setLiveState] = useState<LiveText | null>(null);
  const liveRef = useRef<LiveText | null>(null);
  const setLive = useCallback((text: LiveText | null) => {
    liveRef.current = text;
    setLiveState(text);
  }, []);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(initialError);
  const subscription = useRef<Subscription | null>(null);
  // Bumped by every new send, follow and unmount: a send still waiting for its start is then
  // not followed (it would be a second, unowned subscription).
  const following = useRef(0);
  const stopFollowing = useCallback(() => {
    following.current++;
    subscription.current?.unsubscribe();
  }, []);
  const revalidator = useRevalidator();
  /** Another branch is shown: stop following the reply (it goes on, on the server) and drop its live text. */
  const leave = useCallback(() => {
    stopFollowing();
    subscription.current = null;
    setLive(null);
  }, [stopFollowing, setLive]);

  const settle = useCallback(
    (message: Message) => {
      setMessages((current) => upsert(current, message));
      setLive(null);
      subscription.current?.unsubscribe();
      subscription.current = null;
      revalidator.revalidate(); // the sidebar's order and titles
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
    [setLive, setMessages],
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
      } else if (data.type === "done" || data.type === "error") {
        settle(data.assistantMessage);
      } else {
        liveRef.current?.apply(data);
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
    [settle, setLive, setMessages],
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

  /**
   * Starts a reply by POST, then follows it from its first event: a message of any length fits
   * in a body, while a stream's URL is capped at 8–16 KB by Node and by proxies. `accepted`:
   * the server took the message (before its first event); `onStarted`: it is shown.
   */
  const startAndFollow = useCallback(
    (start: () => Promise<{ assistantMessage: Message }>, { accepted, onStarted }: { accepted?: () => void; onStarted?: () => void }) => {
      setError(null);
      setSending(true);
      subscription.current?.unsubscribe();
      subscription.current = null;
      const mine = ++following.current;
      const failed = (failure: Error) => {
        // The draft stays where it was typed, so nothing is lost.
        setSending(false);
        setLive(null);
        setError(failure.message);
      };
      start().then(({ assistantMessage }) => {
        if (mine !== following.current) return;
        accepted?.();
        subscription.current = apiClient().chat.resume.subscribe(
          { messageId: assistantMessage.id },
          {
            onData: (event) => handleEvent(event, onStarted),
            onError: failed,
          },
        );
      }, failed);
    },
    [handleEvent, setLive],
  );

  /**
   * A new message after `parentId` (the end of the branch this page shows, which another tab
   * may have moved away from on the server; undefined: the server's).
   */
  const send = useCallback(
    (content: string, { clientMessageId = crypto.randomUUID(), parentId, onStarted }: SendOptions = {}) =>
      startAndFollow(() => apiClient().chat.start.mutate({ conversationId, content, clientMessageId, parentId }), { onStarted }),
    [conversationId, startAndFollow],
  );

  /** Edit and resend: a new version of a message; `accepted` once the server took it. */
  const edit = useCallback(
    (messageId: string, content: string, accepted: () => void) =>
      startAndFollow(() => apiClient().chat.edit.mutate({ messageId, content, clientMessageId: crypto.randomUUID() }), { accepted }),
    [startAndFollow],
  );

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
    [follow, setMessages],
  );

  return { live, sending, error, setError, send, edit, follow, stop, regenerate, stopFollowing, leave };
}
