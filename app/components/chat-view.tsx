import { useRevalidator } from "@remix-run/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { apiClient } from "~/lib/api-client";
import { FIRST_PAGE, reconcile, upsert, type Conversation, type Message } from "~/lib/message-list";
import { ComparedReplies } from "./compared-replies";
import { Composer } from "./composer";
import { LiveMessage, MessageItem } from "./message-item";
import { useAutoScroll } from "./use-auto-scroll";
import { useComparison } from "./use-comparison";
import { COMPOSER, useKeyboardFocus } from "./use-keyboard-focus";
import { useReplyStream } from "./use-reply-stream";

export interface PendingSend {
  /** The conversation it was made for. */
  conversationId: string;
  content: string;
  clientMessageId: string;
  /** Compare: the models the message goes to. */
  models?: string[] | null;
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
  /** The models people may pick: names for replies, and the choice for Compare. */
  models: { id: string; label: string }[];
  /** A search hit to bring into view (and mark) on open. */
  hit?: string | null;
  /** The model a conversation whose own is no longer offered may go on with. */
  defaultModel: string;
}

/** The conversation: its messages, the reply being streamed (use-reply-stream.ts), and the composer. */
export function ChatView({
  conversation,
  messages: initialMessages,
  hasEarlier: initialHasEarlier,
  pendingSend,
  refused,
  models,
  hit,
  defaultModel,
}: ChatViewProps) {
  const [messages, setMessages] = useState(initialMessages);
  const [hasEarlier, setHasEarlier] = useState(initialHasEarlier);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [draft, setDraft] = useState(refused?.content ?? "");
  const restoreFocus = useKeyboardFocus();
  const {
    live,
    sending,
    error,
    setError,
    send: sendReply,
    edit,
    follow,
    stop,
    regenerate,
    stopFollowing,
    leave,
  } = useReplyStream({
    conversationId: conversation.id,
    setMessages,
    initialError: refused?.message ?? null,
  });
  const [compareModels, setCompareModels] = useState<string[] | null>(pendingSend?.models ?? null);
  const showPage = useCallback((page: { messages: Message[]; hasEarlier: boolean }) => {
    setMessages(page.messages);
    setHasEarlier(page.hasEarlier);
  }, []);
  // Another branch shown: a reply being written on the one left goes on on the server; one
  // being written at the end of the new branch is followed.
  const showBranchPage = useCallback(
    (page: { messages: Message[]; hasEarlier: boolean }) => {
      leave();
      showPage(page);
      const last = page.messages.at(-1);
      if (last?.role === "assistant" && last.status === "streaming") follow(last);
    },
    [leave, showPage, follow],
  );
  const revalidator = useRevalidator();
  const compared = useComparison({
    conversationId: conversation.id,
    onStarted: useCallback(
      (question: Message, shown: Message) => {
        setMessages((current) => upsert(upsert(current, question), shown));
        revalidator.revalidate(); // the sidebar shows the conversation, titled, right away
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
      [],
    ),
    onSettled: useCallback(
      (message: Message) => setMessages((current) => (current.some((m) => m.id === message.id) ? upsert(current, message) : current)),
      [],
    ),
    onKept: useCallback(
      (page: { messages: Message[]; hasEarlier: boolean }, kept: Message) => {
        showBranchPage(page);
        restoreFocus(COMPOSER);
        // The conversation goes on with the model whose reply was kept.
        if (kept.model && kept.model !== conversation.model) {
          apiClient()
            .conversations.update.mutate({ id: conversation.id, model: kept.model })
            .then(
              () => revalidator.revalidate(),
              (failure: Error) => setError(failure.message),
            );
        }
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
      [showBranchPage, restoreFocus, conversation.id, conversation.model],
    ),
    setError,
  });
  const { dismiss: dismissComparison, start: startComparison } = compared;
  // Once the message is stored, the composer lets go of it (unless the person typed on).
  // What this page shows is what a new message continues, whatever another tab chose since.
  const shownLeaf = useRef<string | null | undefined>(undefined);
  const last = messages.at(-1);
  shownLeaf.current = !last ? null : last.role === "assistant" ? last.id : undefined;
  const send = useCallback(
    (content: string, clientMessageId?: string, toModels: string[] | null = null) => {
      const options = {
        clientMessageId,
        parentId: shownLeaf.current,
        onStarted: () => setDraft((current) => (current === content ? "" : current)),
      };
      dismissComparison();
      // Compare is for one message: the next goes to the conversation's model again.
      const compareOnce = () => {
        options.onStarted();
        setCompareModels(null);
      };
      if (toModels) startComparison(content, toModels, { ...options, onStarted: compareOnce });
      else sendReply(content, options);
    },
    [sendReply, dismissComparison, startComparison],
  );
  const scroller = useAutoScroll();

  // Fresh loader data is the truth (see reconcile).
  useEffect(() => setMessages((current) => reconcile(current, initialMessages)), [initialMessages]);

  const { follow: followScroll } = scroller;
  useEffect(() => followScroll(), [messages, followScroll]);

  // On open: send what the new-chat page handed over, or pick up a reply still being written.
  useEffect(() => {
    if (pendingSend) {
      setDraft(pendingSend.content);
      send(pendingSend.content, pendingSend.clientMessageId, pendingSend.models ?? null);
    } else {
      const last = initialMessages.at(-1);
      if (last?.role === "assistant" && last.status === "streaming") follow(last);
    }
    return stopFollowing;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per conversation opened
  }, [conversation.id]);

  // After the first reply a model may write the conversation's title, in the background
  // (server/services/titles.ts): the sidebar looks again shortly after.
  const firstReplyEnded = messages.length === 2 && messages[1]?.role === "assistant" && messages[1].status === "complete";
  useEffect(() => {
    if (!firstReplyEnded) return;
    const timers = [3_000, 10_000].map((ms) => setTimeout(() => revalidator.revalidate(), ms));
    return () => timers.forEach(clearTimeout);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
  }, [firstReplyEnded]);

  // A search hit in the conversation already open shows another branch: as a version switch.
  useEffect(() => {
    if (!hit) return;
    dismissComparison();
    leave();
    const last = initialMessages.at(-1);
    if (last?.role === "assistant" && last.status === "streaming") follow(last);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per hit opened, with the page it came with
  }, [hit]);

  // A search hit: brought into view once it is on the page, instead of the latest message.
  const scrolledTo = useRef<string | null>(null);
  useEffect(() => {
    if (!hit || scrolledTo.current === hit) return;
    const element = document.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(hit)}"]`);
    if (!element) return;
    scrolledTo.current = hit;
    scroller.reveal(element);
  }, [hit, messages, scroller]);

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
  }, [conversation.id, messages, scroller, setError]);

  // The new version replaces the edited message and everything after it on the page.
  const editMessage = useCallback(
    (messageId: string, content: string, accepted: () => void) =>
      edit(messageId, content, () => {
        dismissComparison();
        accepted();
        setMessages((current) =>
          current.slice(
            0,
            Math.max(
              0,
              current.findIndex((message) => message.id === messageId),
            ),
          ),
        );
        restoreFocus(COMPOSER);
      }),
    [edit, dismissComparison, restoreFocus],
  );

  const showVersion = useCallback(
    (messageId: string, direction: "Previous" | "Next") => {
      setError(null);
      dismissComparison();
      apiClient()
        .conversations.showBranch.mutate({ id: conversation.id, messageId, ...FIRST_PAGE })
        .then(
          (page) => {
            showBranchPage(page);
            // The same control, on the version now shown (or its other arrow, at the end).
            const versions = `[data-message-id="${CSS.escape(messageId)}"] .versions`;
            restoreFocus(`${versions} [aria-label="${direction} version"]`, `${versions} button`, COMPOSER);
          },
          (failure: Error) => setError(failure.message),
        );
    },
    [conversation.id, setError, showBranchPage, dismissComparison, restoreFocus],
  );

  // Until a delete answers, nothing may follow what it removes.
  const [deleting, setDeleting] = useState(false);
  const deleteMessage = useCallback(
    (messageId: string) => {
      setError(null);
      dismissComparison();
      setDeleting(true);
      apiClient()
        .conversations.deleteMessage.mutate({ messageId, ...FIRST_PAGE })
        .then(
          (page) => {
            showBranchPage(page);
            restoreFocus(COMPOSER);
          },
          (failure: Error) => setError(failure.message),
        )
        .finally(() => setDeleting(false));
    },
    [setError, showBranchPage, dismissComparison, restoreFocus],
  );

  const regenerateReply = useCallback(
    (messageId: string) => {
      regenerate(messageId);
      restoreFocus(COMPOSER);
    },
    [regenerate, restoreFocus],
  );

  // A model no longer offered (an admin changed the list): the history stays, and the person
  // is offered the default model rather than a refusal at every send.
  const modelGone = models.length > 0 && !models.some((option) => option.id === conversation.model);
  const continueWithDefault = useCallback(async () => {
    try {
      await apiClient().conversations.update.mutate({ id: conversation.id, model: defaultModel });
      setError(null);
      revalidator.revalidate();
    } catch (failure) {
      setError((failure as Error).message);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- revalidate is stable enough
  }, [conversation.id, defaultModel, setError]);

  const latestReplyId = messages.at(-1)?.role === "assistant" ? messages.at(-1)!.id : null;
  const starting = sending || compared.starting || deleting;
  const busy = live !== null || starting || compared.running;
  const { comparison } = compared;
  const comparedIds = new Set(comparison?.replies.map((reply) => reply.message.id));
  // Side by side while the branch shown ends in one of them (it does until another is chosen).
  const showComparison = comparison !== null && comparedIds.has(messages.at(-1)?.id ?? "");
  const labelOf = useCallback(
    (model: string | null) => models.find((option) => option.id === model)?.label ?? model ?? "Assistant",
    [models],
  );

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
          {(showComparison ? messages.filter((message) => !comparedIds.has(message.id)) : messages).map((message) =>
            message.id === live?.messageId ? (
              <LiveMessage key={message.id} live={live} onGrow={scroller.follow} />
            ) : (
              <MessageItem
                key={message.id}
                message={message}
                isLatestReply={message.id === latestReplyId}
                busy={busy}
                starting={starting}
                onRegenerate={regenerateReply}
                onContinue={continueReply}
                onEdit={editMessage}
                onShowVersion={showVersion}
                onDelete={deleteMessage}
                marked={message.id === hit}
              />
            ),
          )}
          {showComparison ? (
            <ComparedReplies comparison={comparison} labelOf={labelOf} onKeep={compared.keep} onGrow={scroller.follow} />
          ) : null}
        </div>
      </div>
      <div className="composer-dock">
        {modelGone ? (
          <div className="notice model-gone" role="note">
            <p>
              This conversation&apos;s model, “{conversation.model}”, is no longer offered here. Its messages stay; to go on, pick another
              model.
            </p>
            <button type="button" className="button primary small" onClick={() => void continueWithDefault()}>
              Continue with {labelOf(defaultModel)}
            </button>
          </div>
        ) : null}
        {scroller.awayFromBottom ? (
          <button type="button" className="button secondary jump-latest" onClick={scroller.jump}>
            ↓ Jump to latest
          </button>
        ) : null}
        <Composer
          draft={draft}
          onDraftChange={setDraft}
          onSend={() => send(draft, undefined, compareModels)}
          onStop={() => void (compared.running ? compared.stop() : stop())}
          generating={live !== null || compared.running}
          sending={starting}
          error={error}
          compare={{ models, chosen: compareModels, onChange: setCompareModels, current: conversation.model }}
        />
      </div>
    </div>
  );
}

const CONTINUE_PROMPT = "Continue from where you stopped.";
