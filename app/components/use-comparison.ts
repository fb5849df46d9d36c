import { useCallback, useEffect, useRef, useState } from "react";
import { apiClient } from "~/lib/api-client";
import { LiveText } from "~/lib/live-text";
import { FIRST_PAGE, type Message } from "~/lib/message-list";
import type { SendOptions } from "./use-reply-stream";

/** One model's reply in a comparison: streaming (live) or ended. */
export interface ComparedReply {
  message: Message;
  live: LiveText | null;
}

/** A message sent to several models at once, their replies side by side until one is kept. */
export interface Comparison {
  questionId: string;
  replies: ComparedReply[];
}

interface Subscription {
  unsubscribe(): void;
}

/**
 * Compare on the page (`chat.compare`): each reply streams into its own LiveText, followed by
 * its own subscription, and settles on its own. The comparison stays on the page until the
 * person keeps one reply (the branch shown from then on) or goes on without choosing (the
 * first model's reply, already the one shown). A reload shows the replies as versions.
 */
export function useComparison({
  conversationId,
  onStarted,
  onSettled,
  onKept,
  setError,
}: {
  conversationId: string;
  /** The message and the first reply, the branch now shown. */
  onStarted: (userMessage: Message, shown: Message) => void;
  onSettled: (message: Message) => void;
  onKept: (page: { messages: Message[]; hasEarlier: boolean }, kept: Message) => void;
  setError: (message: string | null) => void;
}) {
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [starting, setStarting] = useState(false);
  const subscriptions = useRef(new Map<string, Subscription>());
  // An answer arriving after the page is gone (another conversation opened) must start nothing.
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const unsubscribe = useCallback((messageId?: string) => {
    for (const [id, subscription] of subscriptions.current) {
      if (messageId !== undefined && id !== messageId) continue;
      subscription.unsubscribe();
      subscriptions.current.delete(id);
    }
  }, []);
  useEffect(() => () => unsubscribe(), [unsubscribe]);

  const settle = useCallback(
    (message: Message) => {
      unsubscribe(message.id);
      setComparison(
        (current) =>
          current && {
            ...current,
            replies: current.replies.map((reply) => (reply.message.id === message.id ? { message, live: null } : reply)),
          },
      );
      onSettled(message);
    },
    [onSettled, unsubscribe],
  );

  const follow = useCallback(
    ({ message, live }: ComparedReply) => {
      if (!live) return;
      subscriptions.current.set(
        message.id,
        apiClient().chat.resume.subscribe(
          { messageId: message.id },
          {
            onData: ({ data }) => {
              if (data.type === "done" || data.type === "error") settle(data.assistantMessage);
              else if (data.type !== "start") live.apply(data);
            },
            onError: (failure) => {
              // Not followed any more: ended as far as this page knows (a reload shows where it stands).
              unsubscribe(message.id);
              setComparison(
                (current) =>
                  current && {
                    ...current,
                    replies: current.replies.map((reply) => (reply.message.id === message.id ? { ...reply, live: null } : reply)),
                  },
              );
              setError(failure.message);
            },
          },
        ),
      );
    },
    [settle, setError, unsubscribe],
  );

  /** Sends `content` to every model in `models` (after `parentId`, as `chat.start`); `onStarted` once the server took it. */
  const start = useCallback(
    (content: string, models: string[], { clientMessageId = crypto.randomUUID(), parentId, onStarted: accepted }: SendOptions = {}) => {
      setError(null);
      setStarting(true);
      unsubscribe();
      apiClient()
        .chat.compare.mutate({ conversationId, content, models, clientMessageId, parentId })
        .then(
          ({ userMessage, assistantMessages }) => {
            if (!mounted.current) return;
            const replies = assistantMessages.map((message) => ({
              message,
              live: message.status === "streaming" ? new LiveText(message.id, message.content, message.reasoning) : null,
            }));
            setComparison({ questionId: userMessage.id, replies });
            onStarted(userMessage, assistantMessages[0]!);
            replies.forEach(follow);
            accepted?.();
          },
          (failure: Error) => setError(failure.message),
        )
        .finally(() => setStarting(false));
    },
    [conversationId, follow, onStarted, setError, unsubscribe],
  );

  /** Stops every reply still being written. */
  const stop = useCallback(async () => {
    const running = comparison?.replies.filter((reply) => reply.live) ?? [];
    try {
      const stopped = await Promise.all(running.map((reply) => apiClient().chat.stop.mutate({ messageId: reply.message.id })));
      stopped.forEach(settle);
    } catch (failure) {
      setError((failure as Error).message);
    }
  }, [comparison, settle, setError]);

  /** Keeps one reply: the branch shown from now on; the others stay as its versions. */
  const keep = useCallback(
    (kept: Message) => {
      apiClient()
        .conversations.showBranch.mutate({ id: conversationId, messageId: kept.id, ...FIRST_PAGE })
        .then(
          (page) => {
            if (!mounted.current) return;
            unsubscribe();
            setComparison(null);
            onKept(page, kept);
          },
          (failure: Error) => setError(failure.message),
        );
    },
    [conversationId, onKept, setError, unsubscribe],
  );

  /** Leaves the comparison (the replies go on on the server, as versions). */
  const dismiss = useCallback(() => {
    unsubscribe();
    setComparison(null);
  }, [unsubscribe]);

  const running = comparison?.replies.some((reply) => reply.live !== null) ?? false;
  return { comparison, starting, running, start, stop, keep, dismiss };
}
